# NORM-TR on CMU-MOSEI's six emotions as a multi-label task (paper Table 13):
# sigmoid outputs with BCE (MultiLabelHead), per-emotion weighted accuracy
# and weighted F1 (MultiLabelMetric); MOSEI's depth 4, alpha = beta = 0.01.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/mosei_emotions.py',
    './_base_/schedules/adam_warmup_cosine_20e.py',
    './_base_/default_runtime.py'
]

# The dataset's modalities and T, stated here too: the model builds from
# this config alone (plain mmengine; NormTRRunner keeps them in step when
# --cfg-options changes the top-level ones).
model = dict(
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    fusion=dict(depth=4),
    head=dict(type='MultiLabelHead', num_labels=6),
    loss_weights=dict(adv1=0.01, adv2=0.01, er=1.0))

# Model selection on the validation split by the mean weighted accuracy.
default_hooks = dict(checkpoint=dict(save_best='wAcc_mean', rule='greater'))
