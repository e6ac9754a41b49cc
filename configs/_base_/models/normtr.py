# NORM-TR with the SPEC's defaults (section 2 and 3). Dataset configs set
# `modalities`, `seq_len`, the head, the decoder depth and the loss weights.
model = dict(
    type='NormTR',
    embed_dim=256,
    projection=dict(type='ModalityProjection'),
    nrgf=dict(type='NRGFExtractor'),
    mf=dict(type='MFExtractor'),
    fusion=dict(type='FusionDecoder', depth=2, num_heads=8, dropout=0.1),
    modality_discriminator=dict(type='ModalityDiscriminator',
                                explainer='shared'),
    noise_discriminator=dict(type='NoiseDiscriminator'),
    noise=dict(type='ErasureNoise', probs=(1 / 3, 1 / 3, 1 / 3)),
    grl_lambda=1.0,
    loss_weights=dict(adv1=0.01, adv2=0.01, er=1.0),
    # batches arrive pinned on a GPU machine: copy them asynchronously
    data_preprocessor=dict(type='BaseDataPreprocessor', non_blocking=True),
)
