# CMU-MOSEI: Table 6 "w/o only NRGF extractor": MF is query+memory, no D1/D2.
_base_ = ['../../normtr_mosei.py']

model = dict(
    query='mf', memory='mf', nrgf=None,
    modality_discriminator=None, noise_discriminator=None)
