"""Importing the plugin changes nothing process-wide (issue 14): mmengine's
checkpoint loaders stay mmengine's until a tool or a Runner with
CheckpointGuardHook installs the safe local loader explicitly."""
import json
import subprocess
import sys

from conftest import ROOT

PROBE = r'''
import json, torch
from mmengine.runner.checkpoint import CheckpointLoader
def snapshot():
    return {p: f'{f.__module__}.{f.__qualname__}'
            for p, f in CheckpointLoader._schemes.items()}
before = snapshot()
safe_before = len(torch.serialization.get_safe_globals())
import normtr_plugin.models  # noqa: F401  (imports normtr_plugin too)
after = snapshot()
safe_after = len(torch.serialization.get_safe_globals())
from normtr_plugin.engine import register_checkpoint_loader
register_checkpoint_loader()
print(json.dumps(dict(before=before, after=after, registered=snapshot(),
                      safe=[safe_before, safe_after])))
'''


def test_importing_models_leaves_mmengines_loaders_untouched():
    proc = subprocess.run([sys.executable, '-c', PROBE], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    before, after = out['before'], out['after']
    # every loader mmengine had is still the same function
    assert {p: after.get(p) for p in before} == before
    assert after[''] == 'mmengine.runner.checkpoint.load_from_local'
    # the only addition is the plugin's own scheme, replacing nothing
    assert set(after) - set(before) == {'hf://'}
    assert out['safe'][0] == out['safe'][1]  # torch's allowlist untouched
    # registering explicitly is what installs the safe local loader
    assert out['registered'][''] == ('normtr_plugin.engine.checkpoint_loader'
                                     '.load_from_local_weights_only')
