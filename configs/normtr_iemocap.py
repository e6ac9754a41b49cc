# NORM-TR on IEMOCAP's four binary emotions (paper Table 3): depth 4,
# alpha = beta = 0.005.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/iemocap.py',
    './_base_/schedules/adam_warmup_cosine_30e.py',
    './_base_/default_runtime.py'
]

# The dataset's modalities and T, stated here too: the model builds from
# this config alone (plain mmengine; NormTRRunner keeps them in step when
# --cfg-options changes the top-level ones).
model = dict(
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    fusion=dict(depth=4),
    head=dict(type='MultiBinaryHead', num_tasks=4),
    loss_weights=dict(adv1=0.005, adv2=0.005, er=1.0))

# Model selection on the validation split by the dataset's key metric.
default_hooks = dict(checkpoint=dict(save_best='Acc-2_mean', rule='greater'))
