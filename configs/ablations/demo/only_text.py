# demo: Table 8 unimodal "Text (T)", no modality discriminator.
_base_ = ['../../normtr_demo.py']

_modalities = dict(text=300)  # dims as in the main config
modalities = dict(_delete_=True, **_modalities)
model = dict(modalities=dict(_delete_=True, **_modalities),
             modality_discriminator=None)
train_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
val_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
test_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
