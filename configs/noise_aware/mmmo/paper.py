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
# These variants are compared by the NRGFs' invariance at the selected
# epoch (tools/analysis_tools/noise_aware_sweep.py), so validation asks
# for the diagnostics too (the main configs validate the task metric only).
val_evaluator = {{_base_.test_evaluator}}
