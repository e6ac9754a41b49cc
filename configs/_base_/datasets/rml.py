# RML, 6 emotions, audio + video features from ResNet-18 (paper section 4.3);
# speaker-independent 8:2 folds: tools/speaker_folds.py split / train /
# summary (mean +- std over folds). Video: one random frame per segment in
# training, the middle one at test (SegmentSample). Features extracted with
# K candidate frames per segment are stored segment by segment (T * K
# frames), so the same SegmentSample picks one of each segment's K at
# random in training and the middle candidate at test.
_base_ = ['./feature_dataloaders.py']

data_root = 'data/rml'
# what to convert when data_root is missing (named in the error)
data_source = dict(format='extract', file='the RML videos (a manifest CSV)',
                   src='rml/manifest.csv', default_root=data_root)
modalities = dict(audio=512, video=512)  # name -> feature dim, in token order
seq_len = 8
task = 'classification'
label_columns = ['label']

train_pipeline = [
    dict(type='TruncatePad', keys=['audio'], seq_len=seq_len),
    dict(type='SegmentSample', keys=['video'], seq_len=seq_len, random=True),
    dict(type='PackMultimodalInputs'),
]
test_pipeline = [
    dict(type='TruncatePad', keys=['audio'], seq_len=seq_len),
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
val_evaluator = [dict(type='ClassificationMetric')]
test_evaluator = [dict(type='ClassificationMetric'),
                  dict(type='InvarianceMetric')]
