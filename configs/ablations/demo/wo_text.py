# demo: Table 7 "w/o Text": audio + video only.
_base_ = ['../../normtr_demo.py']

# The kept modalities with the main config's dims; load_config sends
# the top-level `modalities` to the model and all three loaders.
modalities = dict(_delete_=True,
                  audio={{_base_.modalities.audio}},
                  video={{_base_.modalities.video}})
