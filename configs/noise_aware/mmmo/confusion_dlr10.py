# mmmo, issue 12: domain confusion (Tzeng et al. 2015) instead of the
# reversed gradient: D1 and D2 learn on detached NRGFs; the extractor
# minimises lambda x cross-entropy(D's prediction, uniform), so it is pushed
# to make D unsure, not wrong. Both discriminators at 10x the learning rate.
_base_ = ['./paper.py']

model = dict(reversal='confusion')
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys={
    'modality_discriminator': dict(lr_mult=10.0),
    'noise_discriminator': dict(lr_mult=10.0)}))
