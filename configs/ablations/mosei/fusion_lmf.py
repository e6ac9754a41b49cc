# CMU-MOSEI: Table 12 "Low-rank Fusion (LMF)" instead of the decoder.
_base_ = ['../../normtr_mosei.py']

model = dict(fusion=dict(_delete_=True, type='LMFFusion', rank=4))
