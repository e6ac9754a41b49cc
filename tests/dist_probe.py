"""A hook for tests/test_distributed.py, loaded with custom_imports.

Records which samples each rank trained on in the first epoch and a digest
of the parameters after training; with PROBE_KILL_EPOCH set, rank 0 kills
itself mid-way through that epoch (a crash, not a clean exit).
"""
import hashlib
import json
import os
import os.path as osp
import signal

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DistProbeHook(Hook):

    def __init__(self):
        self.ids = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.epoch == 0:
            self.ids += list(data_batch['data_samples'].ids)
        kill = os.environ.get('PROBE_KILL_EPOCH')
        if kill and runner.epoch == int(kill) and batch_idx == 3 and \
                get_rank() == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        digest = hashlib.sha256()
        for name, p in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(p.detach().cpu().numpy().tobytes())
        with open(osp.join(runner.work_dir, f'probe_rank{get_rank()}.json'),
                  'w') as f:
            json.dump(dict(world_size=get_world_size(), ids=self.ids,
                           digest=digest.hexdigest()), f)
