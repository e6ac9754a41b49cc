# CMU-MOSI: Table 8 unimodal "Audio (A)", no modality discriminator.
_base_ = ['../../normtr_mosi.py']

# The kept modalities with the main config's dims, stated in every place
# that reads them: the model and the three datasets.
modalities = dict(_delete_=True,
                  audio={{_base_.modalities.audio}})
model = dict(modalities=modalities, modality_discriminator=None)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
