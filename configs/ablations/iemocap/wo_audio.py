# IEMOCAP: Table 7 "w/o Audio": video + text only.
_base_ = ['../../normtr_iemocap.py']

# The kept modalities with the main config's dims; load_config sends
# the top-level `modalities` to the model and all three loaders.
modalities = dict(_delete_=True,
                  video={{_base_.modalities.video}},
                  text={{_base_.modalities.text}})
