# NORM-TR on RML, 6 classes (paper Table 4): depth 2, alpha = beta = 0.005.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/rml.py',
    './_base_/schedules/adam_warmup_cosine_60e.py',
    './_base_/default_runtime.py'
]

model = dict(
    fusion=dict(depth=2),
    head=dict(type='ClassificationHead', num_classes=6),
    loss_weights=dict(adv1=0.005, adv2=0.005, er=1.0))

# Model selection on the validation split by the dataset's key metric.
default_hooks = dict(checkpoint=dict(save_best='Acc-6', rule='greater'))
