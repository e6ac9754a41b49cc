# demo, issue 12: neither erasure nor adversary (Table 6's "w/o noise-aware
# scheme"), with D1 and D2 kept as probes (reversal='probe') to measure the
# NRGFs. D2 never sees a noisy label here, so it reports nothing.
_base_ = ['./paper.py']

model = dict(reversal='probe', noise=None)
