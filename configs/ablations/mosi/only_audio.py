# CMU-MOSI: Table 8 unimodal "Audio (A)", no modality discriminator.
_base_ = ['../../normtr_mosi.py']

# The kept modalities with the main config's dims; load_config sends
# the top-level `modalities` to the model and all three loaders.
modalities = dict(_delete_=True,
                  audio={{_base_.modalities.audio}})
model = dict(modality_discriminator=None)
