# NORM-TR on real features: MMMO (audio + video, T = 20, 1-5 score).
# Small data (220 training videos): depth 2 as for MOSI, alpha = beta = 0.01,
# 20 epochs (validation MAE bottoms out after about 10).
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/mmmo.py',
    './_base_/schedules/adam_warmup_cosine_20e.py',
    './_base_/default_runtime.py'
]

model = dict(
    fusion=dict(depth=2),
    head=dict(type='RegressionHead'),
    loss_weights=dict(adv1=0.01, adv2=0.01, er=1.0))

default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(save_best='MAE', rule='less'))
