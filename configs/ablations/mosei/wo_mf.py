# CMU-MOSEI: Table 6 "w/o only MF extractor": NRGF is query+memory, no D1.
_base_ = ['../../normtr_mosei.py']

model = dict(
    query='nrgf', memory='nrgf', mf=None, modality_discriminator=None)
