# CMU-MOSEI: Table 9 row "Q = MFs, K & V = NRGFs" (query/memory swapped).
_base_ = ['../../normtr_mosei.py']

model = dict(query='mf', memory='nrgf')
