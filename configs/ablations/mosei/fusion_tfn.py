# CMU-MOSEI: Table 12 "Tensor Fusion (TFN)" instead of the decoder.
_base_ = ['../../normtr_mosei.py']

model = dict(fusion=dict(_delete_=True, type='TFNFusion', d=8))
