# The demo: NORM-TR on the synthetic IEMOCAP-shaped task (3 modalities,
# T = 8, four binary emotions), generated on first use. Trains, validates
# and tests in under 30 s on 2 CPU cores.
_base_ = [
    './_base_/models/normtr.py', './_base_/datasets/synthetic_iemocap.py',
    './_base_/default_runtime.py'
]

# The dataset's modalities and T, stated here too: the model builds from
# this config alone (plain mmengine; NormTRRunner keeps them in step when
# --cfg-options changes the top-level ones).
model = dict(
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    embed_dim=128,
    fusion=dict(depth=2),
    head=dict(type='MultiBinaryHead', num_tasks=4),
    loss_weights=dict(adv1=0.005, adv2=0.005, er=1.0))

# 4 epochs at batch 32 train, validate and test in under 30 s on 2 idle CPU
# cores (benchmarks/demo_wall_time.py)
max_epochs = 4
# linear warm-up over the first iterations (however few a small data_root
# gives), then cosine decay over the epochs
warmup_iters = 20
# fused: one multi-tensor kernel per step instead of a Python loop over the
# parameters (about 15% of a CPU training iteration at batch 16)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=1e-3, fused=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0,
         by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(save_best='Acc-2_mean', rule='greater'))
train_dataloader = dict(batch_size=32)
