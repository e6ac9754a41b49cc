# IEMOCAP: Table 7 "w/o Text": audio + video only.
_base_ = ['../../normtr_iemocap.py']

_modalities = dict(audio=74, video=35)  # dims as in the main config
modalities = dict(_delete_=True, **_modalities)
model = dict(modalities=dict(_delete_=True, **_modalities))
train_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
val_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
test_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
