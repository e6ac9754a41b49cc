# CH-SIMS (MMSA features: audio 33, video 709, text BERT 768); Chinese
# sentiment regression in [-1, 1], evaluated with MMSA's SIMS metrics.
_base_ = ['./feature_dataloaders.py']

data_root = 'data/sims'
# what to convert when data_root is missing (named in the error)
data_source = dict(format='mmsa', file="MMSA's CH-SIMS unaligned_39.pkl",
                   src='SIMS/Processed/unaligned_39.pkl',
                   default_root=data_root)
# modality name -> feature dim, in token order
modalities = dict(audio=33, video=709, text=768)
# The MMSA release's text length (39 BERT tokens); audio (up to 400 steps)
# keeps its first T valid steps, video is segment-sampled (SPEC section 1).
seq_len = 39
task = 'regression'
label_columns = ['label']

train_pipeline = [
    dict(type='TruncatePad', keys=['audio', 'text'], seq_len=seq_len),
    dict(type='SegmentSample', keys=['video'], seq_len=seq_len, random=True),
    dict(type='PackMultimodalInputs'),
]
test_pipeline = [
    dict(type='TruncatePad', keys=['audio', 'text'], seq_len=seq_len),
    dict(type='SegmentSample', keys=['video'], seq_len=seq_len, random=False),
    dict(type='PackMultimodalInputs'),
]
common = dict(data_root=data_root, modalities=modalities,
              label_columns=label_columns, task=task)
train_dataloader = dict(dataset=dict(**common, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**common, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(**common, pipeline=test_pipeline))
# Validation (every epoch) computes the task metric only (save_best='auto'
# picks its first key). The test adds the NRGFs' invariance diagnostics
# (D1/D2 accuracies, Fig. 9 cosines; issue 12), computed only because
# InvarianceMetric asks for them.
val_evaluator = [dict(type='SIMSMetric')]
test_evaluator = [dict(type='SIMSMetric'),
                  dict(type='InvarianceMetric')]
