"""Accelerate as the source of truth for the distributed state.

Under ``accelerate launch`` (or torchrun), Accelerate's ``PartialState``
initialises the process group from its configuration (num_processes,
num_machines, machine rank, main process address): NCCL on GPUs, gloo on
CPU. mmengine's Runner then finds the group ready (it skips its own
``init_dist``, which would call ``torch.cuda.set_device`` on a CPU machine)
and trains with DDP. Mixed precision and gradient accumulation chosen in
Accelerate's configuration go to the optim wrapper.
"""
import os

import torch
from mmengine.config import Config

from .cli import set_mixed_precision
from ..utils.errors import InputError

PRECISIONS = ('no', 'fp16', 'bf16')


def launched_distributed() -> bool:
    return int(os.environ.get('WORLD_SIZE', '1')) > 1


def launch_rank() -> int:
    """This process's global rank as ``accelerate launch``/torchrun set it
    (``RANK``; 0 when not launched distributed), known before the process
    group exists: rank 0 alone locks the work dir (``work_dir_lock.py``).
    """
    return int(os.environ.get('RANK', '0')) if launched_distributed() else 0


def check_gpus_per_process() -> None:
    """One GPU per process on a node, or a clear error before NCCL fails
    ("Duplicate GPU detected")."""
    local = int(os.environ.get('LOCAL_WORLD_SIZE',
                               os.environ.get('WORLD_SIZE', '1')))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if 0 < gpus < local:
        raise RuntimeError(
            f'{local} processes on this node but only {gpus} GPU(s) visible:'
            f' launch with --num_processes {gpus}, or hide the GPUs '
            '(CUDA_VISIBLE_DEVICES="") to train on CPU with gloo')


def setup_distributed(cfg: Config) -> dict:
    """Initialise the process group via Accelerate and adapt ``cfg``.

    Returns a summary (world size, rank, backend, device, precision).
    """
    from accelerate import PartialState
    check_gpus_per_process()
    state = PartialState(cpu=not torch.cuda.is_available())
    cfg.launcher = 'pytorch'
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = state.backend
    if state.device.type == 'cpu':
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None,
            broadcast_buffers=False, find_unused_parameters=True)
    else:
        cfg.setdefault('find_unused_parameters', True)
    precision = os.environ.get('ACCELERATE_MIXED_PRECISION', 'no').lower()
    if precision not in PRECISIONS:
        raise InputError(f'Accelerate mixed_precision {precision!r} is not '
                         f'supported; use one of {PRECISIONS}')
    if precision != 'no':
        set_mixed_precision(cfg, 'float16' if precision == 'fp16'
                            else 'bfloat16')
    steps = int(os.environ.get('ACCELERATE_GRADIENT_ACCUMULATION_STEPS', '1'))
    if steps > 1:
        cfg.optim_wrapper.accumulative_counts = steps
    return dict(world_size=state.num_processes, rank=state.process_index,
                backend=state.backend, device=str(state.device),
                mixed_precision=precision, accumulation=steps)
