# demo, issue 12: noise only. Erasure on; D1 and D2 train as probes on
# detached features (reversal='probe'), so no adversarial gradient reaches
# the model, while they still measure modality and noise in the NRGFs.
_base_ = ['./paper.py']

model = dict(reversal='probe')
