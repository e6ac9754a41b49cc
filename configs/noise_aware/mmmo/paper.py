# mmmo, issue 12: the noise-aware scheme as Eq. 9 writes it (the default
# before issue 12): alpha scales D's loss and the reversed signal together
# (reversal='coupled'), lambda = 1, D1 on chunks, one explainer after the GRL.
# Every lever is set here, so the variants below do not follow the default.
_base_ = ['../../normtr_mmmo.py']

model = dict(
    reversal='coupled', grl_lambda=1.0, grl_position='before_explainer',
    modality_discriminator=dict(type='ModalityDiscriminator',
                                explainer='shared', pool='chunk'),
    noise_discriminator=dict(type='NoiseDiscriminator', pool='chunk'))
custom_hooks = []
optim_wrapper = dict(paramwise_cfg=None)
