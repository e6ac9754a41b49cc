# Dataloaders shared by every feature dataset. Each dataset config fills in
# `dataset=dict(...)`: data_root, modalities, label_columns, task, pipeline.
# seed_worker: with num_workers > 0, random transforms draw anew each epoch
# (mmengine's default worker seeding repeats them every epoch).
_loader = dict(num_workers=0,
               collate_fn=dict(type='normtr_plugin.multimodal_collate'),
               worker_init_fn=dict(type='normtr_plugin.seed_worker'))
train_dataloader = dict(
    **_loader, batch_size=16,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='MultimodalFeatureDataset', split='train'))
val_dataloader = dict(
    **_loader, batch_size=64,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MultimodalFeatureDataset', split='validation'))
test_dataloader = dict(
    **_loader, batch_size=64,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MultimodalFeatureDataset', split='test'))
