"""Every random state a training run draws from, to save and restore.

A run resumed from a checkpoint only continues exactly like an
uninterrupted one if it draws the same random numbers from there on:
torch's CPU (and CUDA) generators (noise masks, dropout, the DataLoader's
base seed), numpy's and Python's global generators (random frame picks in
``SegmentSample``), every ``torch.Generator`` a model module owns (e.g.
``ErasureNoise(seed=...)``), and the train sampler's seed and epoch.
"""
import random
from typing import Dict

import numpy as np
import torch

__all__ = ['capture_rng_state', 'restore_rng_state']


def _module_generators(model) -> Dict[str, torch.Generator]:
    if model is None:
        return {}
    model = getattr(model, 'module', model)  # DDP / MMDistributedDataParallel
    return {name: m.generator for name, m in model.named_modules()
            if isinstance(getattr(m, 'generator', None), torch.Generator)}


def _sampler(runner):
    loop = getattr(runner, '_train_loop', None)
    loader = getattr(loop, 'dataloader', None)
    return getattr(loader, 'sampler', None)


def capture_rng_state(runner) -> dict:
    """The random states now, as plain tensors, arrays and numbers (what
    the weights-only checkpoint loader accepts)."""
    state = dict(
        torch=torch.get_rng_state(),
        numpy=np.random.get_state(legacy=False),
        python=random.getstate(),
        modules={name: g.get_state() for name, g in
                 _module_generators(getattr(runner, 'model', None)).items()})
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    sampler = _sampler(runner)
    if sampler is not None and hasattr(sampler, 'seed'):
        state['sampler'] = dict(seed=getattr(sampler, 'seed'),
                                epoch=getattr(sampler, 'epoch', None))
    return state


def restore_rng_state(runner, state: dict) -> None:
    """Put back what :func:`capture_rng_state` returned."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(state['numpy'])
    python = state['python']
    random.setstate((python[0], tuple(python[1]), python[2]))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    generators = _module_generators(getattr(runner, 'model', None))
    for name, value in state.get('modules', {}).items():
        if name in generators:
            generators[name].set_state(value)
    sampler = _sampler(runner)
    saved = state.get('sampler')
    if saved and sampler is not None and hasattr(sampler, 'seed'):
        sampler.seed = saved['seed']
        if saved.get('epoch') is not None and hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(saved['epoch'])
