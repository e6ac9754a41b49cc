# mosei: noise only (issue 12): erasure on, the discriminators as probes.
# D1 and D2 see detached features (reversal='probe'): no adversarial
# gradient reaches any extractor, so the model trains as with both
# discriminators off, while the probes keep measuring how well modality and
# noise can be told from the NRGFs (the invariance/* metrics).
_base_ = ['../../normtr_mosei.py']

model = dict(reversal='probe')
