# Synthetic IEMOCAP-shaped task (normtr_plugin/datasets/synthetic.py), generated into data_root on first use.
dataset_type = 'SyntheticIEMOCAPDataset'
data_root = 'data/synthetic_iemocap'
modalities = dict(audio=74, video=35, text=300)  # name -> feature dim, in token order
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
common = dict(type=dataset_type, data_root=data_root, modalities=modalities,
              label_columns=label_columns, task=task)

train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**common, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**common, split='validation', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(**common, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='MultiBinaryMetric')
test_evaluator = val_evaluator
