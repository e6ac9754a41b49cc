# mmmo, issue 12: decoupled reversal with DANN's schedule, and both
# discriminators (with D1's explainer) at 10x the learning rate.
_base_ = ['./decoupled_dann.py']

optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys={
    'modality_discriminator': dict(lr_mult=10.0),
    'noise_discriminator': dict(lr_mult=10.0)}))
