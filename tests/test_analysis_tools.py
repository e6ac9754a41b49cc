"""tools/analysis_tools/ scripts run end to end on tiny generated data."""
import json
import math

from conftest import ROOT  # noqa: F401  (puts the repo on sys.path)
from safety_helpers import run_tool, tiny_demo_data

TINY = 'tiny=paper+train_cfg.max_epochs=1+model.embed_dim=32'


def test_noise_aware_sweep_runs_and_collects_every_column(tmp_path):
    """The command of docs/noise_aware.md, one tiny run: training, the
    validation invariance metrics, the linear probe, both maskers' AUILC,
    sweep.json and sweep.md."""
    data = tiny_demo_data(tmp_path / 'data')
    out = tmp_path / 'out'
    proc = run_tool(['tools/analysis_tools/noise_aware_sweep.py',
                     '--data-roots', f'demo={data}', '--variants', TINY,
                     '--seeds', '0', '--work-dir', tmp_path / 'work',
                     '--out', out, '--reference', 'tiny'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / 'sweep.json').read_text())
    (run,) = result['runs']['demo']['tiny']
    assert run['seed'] == 0 and run['cfg_options'] == [
        'train_cfg.max_epochs=1', 'model.embed_dim=32']
    assert 0 <= run['test']['Acc-2_mean'] <= 100
    for key in ('probe_nrgf_acc', 'probe_mf_acc'):
        assert 0 <= run['val'][key] <= 100
    for masker in ('random', 'window'):
        assert 0 <= run['auilc'][f'{masker}/Acc-2_mean'] <= 100
    summary = result['summary']['demo']['tiny']
    assert summary['test/Acc-2_mean']['mean'] == run['test']['Acc-2_mean']
    assert math.isnan(summary['test/Acc-2_mean']['std'])  # one seed
    checks = result['acceptance']['demo']['tiny']
    assert checks['clean_kept'] is None  # no spread over one seed
    assert '### demo' in (out / 'sweep.md').read_text()
    # finished steps are skipped: a second call trains nothing (and a
    # missing --reference variant leaves the criteria unchecked)
    again = run_tool(['tools/analysis_tools/noise_aware_sweep.py',
                      '--data-roots', f'demo={data}', '--variants', TINY,
                      '--seeds', '0', '--work-dir', tmp_path / 'work',
                      '--out', out])
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'trained demo' not in again.stdout
    again_result = json.loads((out / 'sweep.json').read_text())
    assert again_result['runs'] == result['runs']
    assert again_result['acceptance']['demo']['tiny'] == {}
    assert '? ? ? ?' in (out / 'sweep.md').read_text()
