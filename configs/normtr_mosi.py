# NORM-TR on CMU-MOSI (paper Tables 1, 5, 6): depth 2, alpha = beta = 0.01.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/mosi.py',
    './_base_/schedules/adam_warmup_cosine_40e.py',
    './_base_/default_runtime.py'
]

# The dataset's modalities and T, stated here too: the model builds from
# this config alone (plain mmengine; NormTRRunner keeps them in step when
# --cfg-options changes the top-level ones).
model = dict(
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    fusion=dict(depth=2),
    head=dict(type='RegressionHead'),
    loss_weights=dict(adv1=0.01, adv2=0.01, er=1.0))

# Model selection on the validation split by the dataset's key metric.
default_hooks = dict(checkpoint=dict(save_best='MAE', rule='less'))
