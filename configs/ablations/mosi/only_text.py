# CMU-MOSI: Table 8 unimodal "Text (T)", no modality discriminator.
_base_ = ['../../normtr_mosi.py']

# The kept modalities with the main config's dims, stated in every place
# that reads them: the model and the three datasets.
modalities = dict(_delete_=True,
                  text={{_base_.modalities.text}})
model = dict(modalities=modalities, modality_discriminator=None)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
