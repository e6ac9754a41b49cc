# demo: Table 9 row "Q = MFs, K & V = NRGFs" (query/memory swapped).
_base_ = ['../../normtr_demo.py']

model = dict(query='mf', memory='nrgf')
