# Synthetic IEMOCAP-shaped task (normtr_plugin/datasets/synthetic.py),
# generated on first use into the default data_root only (another data_root
# must exist, or set generate=True in the dataset configs).
_base_ = ['./feature_dataloaders.py']

data_root = 'data/synthetic_iemocap'
# modality name -> feature dim, in token order
modalities = dict(audio=74, video=35, text=300)
seq_len = 8
task = 'multi_binary'
label_columns = ['Neutral', 'Happy', 'Sad', 'Angry']

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
common = dict(type='SyntheticIEMOCAPDataset', data_root=data_root,
              modalities=modalities, label_columns=label_columns, task=task)
train_dataloader = dict(dataset=dict(**common, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**common, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(**common, pipeline=test_pipeline))
# Validation (every epoch) computes the task metric only (save_best='auto'
# picks its first key). The test adds the NRGFs' invariance diagnostics
# (D1/D2 accuracies, Fig. 9 cosines; issue 12), computed only because
# InvarianceMetric asks for them.
val_evaluator = [dict(type='MultiBinaryMetric')]
test_evaluator = [dict(type='MultiBinaryMetric'),
                  dict(type='InvarianceMetric')]
