# demo: Table 7 "w/o Video": audio + text only.
_base_ = ['../../normtr_demo.py']

_modalities = dict(audio=74, text=300)  # dims as in the main config
modalities = dict(_delete_=True, **_modalities)
model = dict(modalities=dict(_delete_=True, **_modalities))
train_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
val_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
test_dataloader = dict(
    dataset=dict(modalities=dict(_delete_=True, **_modalities)))
