# Composition example (docs/composition.md): TFN fusion over NRGF/MF features
# with the noise-aware scheme, on the demo task, assembled part by part from
# the MODELS registry. Data, schedule and runtime come from the demo config.
_base_ = ['./normtr_demo.py']

# How a config registers modules that live outside normtr_plugin.models
# (your own package goes here); imported when the config is loaded.
custom_imports = dict(imports=['normtr_plugin.models.fusions'],
                      allow_failed_imports=False)

model = dict(
    _delete_=True,  # spell out every part instead of merging into NORM-TR's
    type='NormTR',
    modalities={{_base_.modalities}},
    seq_len={{_base_.seq_len}},
    embed_dim=128,
    projection=dict(type='ModalityProjection'),     # g, Eq. 2
    nrgf=dict(type='NRGFExtractor'),                # F_NR, Eq. 3
    mf=dict(type='MFExtractor'),                    # F_M, Eq. 4
    query='nrgf',
    memory='mf',
    fusion=dict(type='TFNFusion', d=8, out_dim=64),  # instead of Eq. 5
    head=dict(type='MultiBinaryHead', num_tasks=4),
    noise=dict(type='ErasureNoise', probs=(1 / 3, 1 / 3, 1 / 3)),
    modality_discriminator=dict(type='ModalityDiscriminator',
                                explainer='shared'),  # D1, Eq. 6
    noise_discriminator=dict(type='NoiseDiscriminator'),  # D2, Eq. 7
    grl_lambda=1.0,
    loss_weights=dict(adv1=0.005, adv2=0.005, er=1.0))  # Eq. 9
