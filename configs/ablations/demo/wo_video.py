# demo: Table 7 "w/o Video": audio + text only.
_base_ = ['../../normtr_demo.py']

# The kept modalities with the main config's dims, stated in every place
# that reads them: the model and the three datasets.
modalities = dict(_delete_=True,
                  audio={{_base_.modalities.audio}},
                  text={{_base_.modalities.text}})
model = dict(modalities=modalities)
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
