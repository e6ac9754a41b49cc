# NORM-TR on unaligned CMU-MOSI (MMSA's unaligned_50.pkl: text 50 BERT
# tokens, audio 375 and video 500 steps), converted with
#   python tools/convert_dataset.py mmsa MOSI/Processed/unaligned_50.pkl \
#       --out data/mosi_unaligned
# Each modality keeps its own T_m (docs/composition.md, "Unaligned data"):
# a per-modality seq_len reaches the model and every transform, and both
# discriminators pool by the mean over valid tokens (pool='mean'; the
# paper's 'chunk' needs one T). L = 925 tokens make an epoch slow on CPU,
# so the logger reports every 5 iterations.
_base_ = ['./normtr_mosi.py']

data_root = 'data/mosi_unaligned'
data_source = dict(format='mmsa', file="MMSA's MOSI/Processed/unaligned_50.pkl",
                   src='MOSI/Processed/unaligned_50.pkl',
                   default_root=data_root)
_T = dict(audio=375, video=500, text=50)
seq_len = dict(_delete_=True, **_T)

# every modality keeps its first T_m valid steps (no segment sampling: T_m
# is the release's own length)
train_pipeline = [
    dict(type='TruncatePad', keys=['audio', 'video', 'text'], seq_len=_T),
    dict(type='PackMultimodalInputs'),
]
test_pipeline = train_pipeline
_data = dict(data_root=data_root)
train_dataloader = dict(dataset=dict(**_data, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**_data, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(**_data, pipeline=test_pipeline))

model = dict(
    seq_len=dict(_delete_=True, **_T),
    modality_discriminator=dict(pool='mean'),
    noise_discriminator=dict(pool='mean'))

default_hooks = dict(logger=dict(interval=5))
