"""Dataloader workers whose random draws change every epoch."""
import os
import random

import numpy as np
import torch

from ..registry import FUNCTIONS

__all__ = ['seed_worker']


@FUNCTIONS.register_module()
def seed_worker(worker_id: int, **kwargs) -> None:
    """``worker_init_fn`` seeding numpy, ``random`` and torch in a worker
    from the seed PyTorch gave it (``torch.initial_seed()``: a base seed
    drawn from the main process's generator for every epoch, plus the
    worker id) and the process rank.

    mmengine's default ``worker_init_fn`` reseeds each worker with the same
    ``seed + worker_id`` every epoch, so random transforms
    (``SegmentSample(random=True)``, masking) would repeat their draws
    epoch after epoch. Here the draws differ between epochs and stay
    reproducible: the main process's generator is seeded by the config's
    ``randomness.seed``.
    """
    rank = int(os.environ.get('RANK', 0))
    seed = (torch.initial_seed() + 1000003 * rank) % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
