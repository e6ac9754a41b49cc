# CMU-MOSEI: Table 6 "w/o fusion transformer" = Table 12 "Concatenation".
_base_ = ['../../normtr_mosei.py']

model = dict(fusion=dict(type='ConcatFusion', _delete_=True))
