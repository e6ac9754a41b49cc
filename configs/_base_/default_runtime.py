default_scope = 'normtr_plugin'
# tools/train.py and tools/test.py build the registered runner, as
# mmpretrain's tools do (RUNNERS.build(cfg) when runner_type is set):
# NormTRRunner (normtr_plugin/engine/runner.py) sends the top-level
# data_root/modalities/seq_len everywhere, checks the config before any
# data is read, applies model_selection and picks the work dir. Plain
# Runner.from_cfg(cfg) runs these configs too.
runner_type = 'NormTRRunner'

# AtomicCheckpointHook: mmengine's CheckpointHook with atomic writes (a kill
# never leaves a truncated checkpoint or a last_checkpoint pointing at one)
# and the random states in every checkpoint (a resumed run equals an
# uninterrupted one). CheckpointGuardHook: loaded checkpoints must fit the
# model, and config text stored in them is never executed. NonFiniteHook:
# the first NaN/Inf loss or metric stops the run with an error.
# RunIdentityHook: each checkpoint records a hash of the config and the
# train data's identity; `tools/train.py --resume` refuses another run's
# checkpoint unless --force. InvarianceRequestHook: the model computes the
# invariance diagnostics only in val/test runs whose evaluator lists an
# InvarianceMetric.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                    max_keep_ckpts=2, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    checkpoint_guard=dict(type='CheckpointGuardHook'),
    non_finite=dict(type='NonFiniteHook'),
    run_identity=dict(type='RunIdentityHook'),
    invariance_request=dict(type='InvarianceRequestHook'),
)

# Which weights are kept and tested (normtr_plugin/engine/model_selection.py):
# by='best' (best validation metric, default_hooks.checkpoint.save_best) or
# 'last' (last epoch); ema=True averages the weights (mmengine's EMAHook,
# momentum ema_momentum per iteration); holdout=f validates on a fraction f
# of train when the data has no validation split (otherwise: no
# validation, last epoch); by='cv' chooses the epoch count by `folds`-fold
# cross-validation over train + validation (group-disjoint by the data's
# group column or group_pattern on the ids, stratified for classification;
# normtr_plugin/engine/cv_selection.py), then trains on both, tests once.
model_selection = dict(by='best', ema=False, ema_momentum=0.01,
                       holdout=None, folds=5, group=None, group_pattern=None)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

# The paper's batch is 16. `tools/train.py --auto-scale-lr` scales the
# learning rate linearly with the total batch (batch per process x
# processes), as mmengine's auto_scale_lr does.
auto_scale_lr = dict(enable=False, base_batch_size=16)
