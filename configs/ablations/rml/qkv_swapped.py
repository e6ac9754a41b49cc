# RML: Table 9 row "Q = MFs, K & V = NRGFs" (query/memory swapped).
_base_ = ['../../normtr_rml.py']

model = dict(query='mf', memory='nrgf')
