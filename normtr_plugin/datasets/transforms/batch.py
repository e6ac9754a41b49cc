"""What batch-level transforms share.

A batch (``MultimodalFeatureDataset`` with a pipeline whose transforms all
have ``transform_batch``) is a dict::

    modalities  [name, ...]
    ids         [str] * B
    gt_label    tensor (B,) or (B, K), when the split has labels
    lengths     {m: long tensor (B,)}: valid steps; steps after are zeros
    m           float32 tensor (B, T_m, N_m) per modality

on the CPU, or on the GPU for a split kept resident there.
"""
import torch


def valid_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, steps)`` float mask, 1 on the first ``lengths[b]`` steps."""
    t = torch.arange(steps, device=lengths.device)
    return (t[None] < lengths[:, None]).float()


def is_batched(pipeline) -> bool:
    """True when every transform of ``pipeline`` can run on whole batches."""
    return all(hasattr(t, 'transform_batch') for t in pipeline)
