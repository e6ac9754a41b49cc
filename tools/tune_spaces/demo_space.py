# A small space for trying tools/tune.py on the demo in seconds per trial
# (the real spaces: normtr_space.py, transformer_space.py).
#   python tools/tune.py configs/normtr_demo.py \
#       --space tools/tune_spaces/demo_space.py --trials 2
lr = dict(key='optim_wrapper.optimizer.lr', type='float', low=1e-4,
          high=3e-3, log=True)
dropout = dict(key='model.fusion.dropout', type='float', low=0.0, high=0.3)
epochs = dict(key='train_cfg.max_epochs', type='int', low=2, high=4)
