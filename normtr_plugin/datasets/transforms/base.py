"""Batch-only transforms: what they share.

A batch (``MultimodalFeatureDataset.read_batch``, the inferencer's inputs)
is a dict::

    modalities  [name, ...]               the config's modality order
    ids         [str] * B
    gt_label    tensor (B,) or (B, K)     when the split has labels
    lengths     long tensor (B, M)        valid steps, column j for
                                          modalities[j]; steps after are 0
    <modality>  float32 tensor (B, T_m, N_m)

on the CPU, or on the GPU for a split kept resident there. Every
transform is a :class:`BatchTransform`: ``transform(batch) -> batch``
(``__call__`` is the same, so mmengine's ``Compose`` runs them). A
per-sample callable runs through :class:`~.per_sample.PerSample`.
"""
from ...structures.lengths import column, seq_len_of

__all__ = ['BatchTransform', 'check_batch_pipeline']


class BatchTransform:
    """Base class: subclasses implement :meth:`transform`."""

    def transform(self, batch: dict) -> dict:
        raise NotImplementedError

    def __call__(self, batch: dict) -> dict:
        return self.transform(batch)

    @staticmethod
    def column(batch: dict, key: str) -> int:
        """Column of modality ``key`` in ``batch['lengths']``."""
        return column(batch, key)

    def seq_len_for(self, key: str) -> int:
        """T for ``key`` (``self.seq_len``: int or ``{modality: T_m}``)."""
        return seq_len_of(self.seq_len, key, type(self).__name__)

    def resize_steps(self, batch: dict, resize) -> dict:
        """Apply ``resize(x (B, T_in, D), length (B,), T) -> (x (B, T, D),
        length (B,))`` to every modality of ``self.keys`` in ``batch``, with
        its T and its column of ``batch['lengths']`` (B, M)."""
        lengths = batch['lengths'].clone()
        for key in self.keys:
            if key in batch:
                j = self.column(batch, key)
                batch[key], lengths[:, j] = resize(
                    batch[key], lengths[:, j], self.seq_len_for(key))
        batch['lengths'] = lengths
        return batch


def check_batch_pipeline(transforms) -> None:
    """Every transform must run on batches; name the first that does not."""
    for t in transforms:
        if not isinstance(t, BatchTransform):
            raise TypeError(
                f'pipeline transform {t!r} is not a batch transform; wrap a '
                "per-sample callable as dict(type='PerSample', "
                'transform=...)')
