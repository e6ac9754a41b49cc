# CMU-MOSEI: Table 12 "GRU" fusion instead of the decoder, noise-aware kept.
_base_ = ['../../normtr_mosei.py']

model = dict(fusion=dict(_delete_=True, type='GRUFusion'))
