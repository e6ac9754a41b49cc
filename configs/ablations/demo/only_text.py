# demo: Table 8 unimodal "Text (T)", no modality discriminator.
_base_ = ['../../normtr_demo.py']

# The kept modalities with the main config's dims; load_config sends
# the top-level `modalities` to the model and all three loaders.
modalities = dict(_delete_=True,
                  text={{_base_.modalities.text}})
model = dict(modality_discriminator=None)
