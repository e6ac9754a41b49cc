# NORM-TR on RML, 6 classes (paper Table 4): depth 2, alpha = beta = 0.005.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/rml.py',
    './_base_/schedules/adam_warmup_cosine_60e.py',
    './_base_/default_runtime.py'
]

# The dataset's modalities and T, stated here too: the model builds from
# this config alone (plain mmengine; NormTRRunner keeps them in step when
# --cfg-options changes the top-level ones).
model = dict(
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    fusion=dict(depth=2),
    head=dict(type='ClassificationHead', num_classes=6),
    loss_weights=dict(adv1=0.005, adv2=0.005, er=1.0))

# Model selection by the key metric on the validation split; RML's
# speaker-independent folds (tools/speaker_folds.py) have train and test
# only, so then a stratified, seeded 10% of train is held out for it
# (selecting on validation beat the last epoch and EMA on MMMO, the other
# small set: docs/datasets.md, "Model selection").
default_hooks = dict(checkpoint=dict(save_best='Acc-6', rule='greater'))
model_selection = dict(by='best', holdout=0.1)
