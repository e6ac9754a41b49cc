# CMU-MOSI: Table 7 "w/o Video": audio + text only.
_base_ = ['../../normtr_mosi.py']

_modalities = dict(audio=5, text=768)  # dims as in the main config
modalities = dict(_delete_=True, **_modalities)
model = dict(modalities=dict(_delete_=True, **_modalities))
train_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
val_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
test_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
