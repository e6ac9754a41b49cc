# CMU-MOSEI six emotions, multi-label (paper section 4.7.14, Table 13):
# CMU-SDK features (audio COVAREP 74, video Facet 35, text GloVe 300) with
# one 0/1 column per emotion (present when its annotated intensity is > 0).
# Converted from a CMU-SDK HDF5 folder whose y_{split}.h5 holds
# [sentiment, happy, sad, anger, surprise, disgust, fear] per sample:
#   python tools/convert_dataset.py cmu-h5 SRC --out data/mosei_emotions \
#       --label-column all --presence \
#       --label-names sentiment,happy,sad,anger,surprise,disgust,fear
_base_ = ['./feature_dataloaders.py']

data_root = 'data/mosei_emotions'
# what to convert when data_root is missing (named in the error)
data_source = dict(
    format='cmu-h5',
    file='a CMU-SDK HDF5 folder of MOSEI with emotion labels',
    src='SRC --label-column all --presence --label-names '
        'sentiment,happy,sad,anger,surprise,disgust,fear',
    default_root=data_root)
# modality name -> feature dim, in token order
modalities = dict(audio=74, video=35, text=300)
seq_len = 50
task = 'multi_label'
label_columns = ['happy', 'sad', 'anger', 'surprise', 'disgust', 'fear']

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
val_evaluator = [dict(type='MultiLabelMetric')]
test_evaluator = [dict(type='MultiLabelMetric'),
                  dict(type='InvarianceMetric')]
