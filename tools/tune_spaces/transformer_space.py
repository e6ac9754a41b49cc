# The search space of the standard Transformer baseline
# (configs/ablations/<data>/standard_transformer.py) and of w/o noise-aware
# for tools/tune.py: what every variant shares; normtr_space.py adds the
# noise-aware task and the adversarial losses. Format in
# normtr_plugin/engine/search_space.py.
#   python tools/tune.py configs/ablations/mmmo/standard_transformer.py \
#       --space tools/tune_spaces/transformer_space.py --trials 30 --cv 5
lr = dict(key='optim_wrapper.optimizer.lr', type='float', low=1e-5,
          high=1e-3, log=True)
weight_decay = dict(key='optim_wrapper.optimizer.weight_decay',
                    type='float', low=1e-6, high=1e-2, log=True)
dropout = dict(key='model.fusion.dropout', type='float', low=0.0, high=0.3)
# N: the width of the projected tokens (NRGF/MF tokens and the decoder are
# N/2 wide); every choice of N/2 divides by every choice of heads
N = dict(key='model.embed_dim', type='categorical', choices=[64, 128, 256])
depth = dict(key='model.fusion.depth', type='int', low=1, high=4)
heads = dict(key='model.fusion.num_heads', type='categorical',
             choices=[2, 4, 8])
# the schedule's end moves with the epoch count
epochs = dict(key='train_cfg.max_epochs', type='int', low=8, high=30,
              step=2)
