# IEMOCAP: Table 9 row "Q = MFs, K & V = NRGFs" (query/memory swapped).
_base_ = ['../../normtr_iemocap.py']

model = dict(query='mf', memory='nrgf')
