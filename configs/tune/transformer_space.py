# The search space of the standard Transformer baseline
# (configs/ablations/<data>/standard_transformer.py) for tools/tune.py:
# NORM-TR's space without what the baseline lacks (noise-aware task,
# adversarial losses). Format in normtr_plugin/engine/search_space.py.
#   python tools/tune.py configs/ablations/mmmo/standard_transformer.py \
#       --space configs/tune/transformer_space.py --trials 30 --cv 5
lr = dict(key='optim_wrapper.optimizer.lr', type='float', low=1e-5,
          high=1e-3, log=True)
weight_decay = dict(key='optim_wrapper.optimizer.weight_decay',
                    type='float', low=1e-6, high=1e-2, log=True)
dropout = dict(key='model.fusion.dropout', type='float', low=0.0, high=0.3)
N = dict(key='model.embed_dim', type='categorical', choices=[64, 128, 256])
depth = dict(key='model.fusion.depth', type='int', low=1, high=4)
heads = dict(key='model.fusion.num_heads', type='categorical',
             choices=[2, 4, 8])
epochs = dict(key='train_cfg.max_epochs', type='int', low=8, high=30,
              step=2)
