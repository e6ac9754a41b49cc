# CMU-MOSEI: Table 6 "w/o Noise-aware learning scheme": no noise, alpha=beta=0.
_base_ = ['../../normtr_mosei.py']

model = dict(
    noise=None, modality_discriminator=None, noise_discriminator=None,
    loss_weights=dict(adv1=0.0, adv2=0.0))
