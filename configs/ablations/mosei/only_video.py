# CMU-MOSEI: Table 8 unimodal "Video (V)", no modality discriminator.
_base_ = ['../../normtr_mosei.py']

# The kept modalities with the main config's dims, stated in every place
# that reads them: the model and the three datasets.
modalities = dict(_delete_=True,
                  video={{_base_.modalities.video}})
model = dict(modalities=modalities, modality_discriminator=None)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
