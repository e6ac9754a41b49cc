# NORM-TR on CH-SIMS (paper Table 10 uses it for the alpha/beta study):
# small data like MOSI, so depth 2 and alpha = beta = 0.01 (Table 10's best),
# 40 epochs; MMSA's SIMS metrics (Acc-2/3/5, F1, MAE, Corr).
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/sims.py',
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
