# MMMO: Table 8 unimodal "Video (V)", no modality discriminator.
_base_ = ['../../normtr_mmmo.py']

# The kept modalities with the main config's dims; load_config sends
# the top-level `modalities` to the model and all three loaders.
modalities = dict(_delete_=True,
                  video={{_base_.modalities.video}})
model = dict(modality_discriminator=None)
