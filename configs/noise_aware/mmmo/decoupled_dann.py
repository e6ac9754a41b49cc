# mmmo, issue 12: the extractor gets -lambda dL_adv/dF, whatever alpha is
# (reversal='decoupled'), with DANN's schedule lambda_p = 2/(1+exp(-10p))-1.
_base_ = ['./paper.py']

model = dict(reversal='decoupled')
custom_hooks = [dict(type='GRLLambdaHook', gamma=10.0)]
