"""Published models, offline: a Hugging Face cache built by hand in the exact
layout the client writes, read back through the real ``huggingface_hub``.

    models--org--name/blobs/<sha256 (LFS) or git blob sha1>
    models--org--name/snapshots/<commit>/<file> -> ../../blobs/<hash>
    models--org--name/refs/main = <commit>
"""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import huggingface_hub.constants
import pytest
import torch
from mmengine.config import Config
from mmengine.model.weight_init import PretrainedInit
from safetensors.torch import load_file, save_file

from conftest import ROOT
from normtr_plugin.datasets import EMOTIONS, make_synthetic_iemocap
from normtr_plugin.engine import load_checkpoint_safely
from normtr_plugin.hub import (CONFIG_NAME, WEIGHTS_NAME, PretrainedError,
                               from_pretrained, load_from_hub, push_to_hub,
                               resolve_files, save_pretrained)
from normtr_plugin.models import NormTR
from normtr_plugin.registry import MODELS, build_in_scope

DEMO = osp.join(ROOT, 'configs', 'normtr_demo.py')
REPO = 'org/name'
LFS_SUFFIXES = ('.safetensors', '.bin', '.pth', '.pt')


def blob_hash(name: str, data: bytes) -> str:
    """What the client names a blob: sha256 for LFS files, else the git sha1.
    """
    if name.endswith(LFS_SUFFIXES):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


def add_to_hub_cache(cache, repo_id, files, commit=None, ref='main'):
    """Add one commit of a model repo to a hub cache; returns the commit.

    ``files``: name -> bytes or path of a local file.
    """
    files = {n: v if isinstance(v, bytes) else open(v, 'rb').read()
             for n, v in files.items()}
    commit = commit or hashlib.sha1(json.dumps(
        {n: blob_hash(n, d) for n, d in sorted(files.items())}).encode()
        + repo_id.encode()).hexdigest()
    repo = osp.join(str(cache), 'models--' + repo_id.replace('/', '--'))
    snapshot = osp.join(repo, 'snapshots', commit)
    os.makedirs(osp.join(repo, 'blobs'), exist_ok=True)
    os.makedirs(snapshot, exist_ok=True)
    for name, data in files.items():
        digest = blob_hash(name, data)
        blob = osp.join(repo, 'blobs', digest)
        if not osp.exists(blob):
            with open(blob, 'wb') as f:
                f.write(data)
        os.symlink(osp.join('..', '..', 'blobs', digest),
                   osp.join(snapshot, name))
    if ref:
        os.makedirs(osp.join(repo, 'refs'), exist_ok=True)
        with open(osp.join(repo, 'refs', ref), 'w') as f:
            f.write(commit)  # the client writes no newline
    return commit


def saved_files(folder):
    return {n: osp.join(folder, n) for n in (CONFIG_NAME, WEIGHTS_NAME)}


def demo_model(seed):
    """A model with the demo config's dims (so load_from fits the demo)."""
    torch.manual_seed(seed)
    return build_in_scope(MODELS, Config.fromfile(DEMO).model).eval()


def batch(seed=0, n=3):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(n, 8, d, generator=g)
            for m, d in dict(audio=74, video=35, text=300).items()}


def outputs(model, inputs):
    with torch.no_grad():
        return model.eval()(inputs, mode='tensor')


class PickleBomb:
    """Unpickling this creates ``marker``: proof that something unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, 'w')


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    """HF_HOME with org/name at two commits: ``old`` and ``new`` (= main)."""
    root = tmp_path_factory.mktemp('hub')
    cfg = Config.fromfile(DEMO)
    meta = dict(task='multi_binary', label_names=list(EMOTIONS),
                modalities=list(cfg.modalities))
    models, folders = {}, {}
    for seed, tag in ((1, 'old'), (2, 'new')):
        models[tag] = demo_model(seed)
        folders[tag] = save_pretrained(
            models[tag], str(root / tag), dataset_meta=meta,
            test_pipeline=[dict(t) for t in cfg.test_pipeline])
    home = root / 'home'
    cache = home / 'hub'
    old = add_to_hub_cache(cache, REPO, saved_files(folders['old']), ref=None)
    new = add_to_hub_cache(cache, REPO, saved_files(folders['new']))
    assert old != new
    return SimpleNamespace(root=root, home=home, cache=str(cache),
                           commits=dict(old=old, new=new), models=models,
                           folders=folders)


@pytest.fixture
def default_cache(hub, monkeypatch):
    """The client's default cache (what HF_HOME decides) is ``hub.cache``."""
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', hub.cache)
    return hub.cache


def subprocess_env(hub):
    env = {k: v for k, v in os.environ.items()
           if k not in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE')}
    env.update(HF_HOME=str(hub.home), HF_HUB_OFFLINE='1',
               HF_DATASETS_OFFLINE='1', PYTHONPATH=ROOT)
    return env


def test_cache_layout_is_the_clients(hub):
    repo = osp.join(hub.cache, 'models--org--name')
    with open(osp.join(repo, 'refs', 'main')) as f:
        assert f.read() == hub.commits['new']
    link = osp.join(repo, 'snapshots', hub.commits['new'], WEIGHTS_NAME)
    assert osp.islink(link) and not osp.isabs(os.readlink(link))
    with open(link, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == osp.basename(
            os.readlink(link))
    config, weights = resolve_files(REPO, cache_dir=hub.cache)
    assert config == osp.join(repo, 'snapshots', hub.commits['new'],
                              CONFIG_NAME)
    assert weights == link


def test_from_hub_cache_is_bit_exact(hub):
    model = from_pretrained(REPO, cache_dir=hub.cache)
    assert isinstance(model, NormTR) and not model.training
    x = batch()
    assert torch.equal(outputs(model, x), outputs(hub.models['new'], x))
    assert not torch.equal(outputs(model, x), outputs(hub.models['old'], x))
    meta = model.pretrained_config['dataset_meta']
    assert meta['label_names'] == list(EMOTIONS)
    assert model.pretrained_config['test_pipeline'][-1]['type'] == \
        'PackMultimodalInputs'


def test_revision_selects_the_commit(hub, default_cache):
    x = batch(1)
    for tag in ('old', 'new'):
        model = from_pretrained(REPO, revision=hub.commits[tag],
                                cache_dir=hub.cache)
        assert torch.equal(outputs(model, x), outputs(hub.models[tag], x))
    # hf://org/name@commit (the mmengine scheme) as well.
    ckpt = load_from_hub(f'hf://{REPO}@{hub.commits["old"]}')
    state = hub.models['old'].state_dict()
    assert set(ckpt['state_dict']) == set(state)
    assert all(torch.equal(ckpt['state_dict'][k], v) for k, v in state.items())
    assert ckpt['meta']['dataset_meta']['task'] == 'multi_binary'
    with pytest.raises(PretrainedError, match=REPO):
        from_pretrained(REPO, revision='f' * 40, cache_dir=hub.cache)


DEFAULT_CACHE_SCRIPT = textwrap.dedent('''
    import sys
    from safetensors.torch import load_file, save_file
    import torch
    from huggingface_hub import constants
    from normtr_plugin import from_pretrained
    from normtr_plugin.hub import resolve_files
    model = from_pretrained('org/name')  # no cache_dir: $HF_HOME/hub
    with torch.no_grad():
        out = model(load_file(sys.argv[1]), mode='tensor')
    save_file({'out': out.contiguous()}, sys.argv[2])
    print(constants.HF_HUB_CACHE)
    print(resolve_files('org/name')[1])
''')


def test_default_cache_from_hf_home_in_subprocess(hub, tmp_path):
    x = batch(2)
    save_file(x, str(tmp_path / 'x.safetensors'))
    proc = subprocess.run(
        [sys.executable, '-c', DEFAULT_CACHE_SCRIPT,
         str(tmp_path / 'x.safetensors'), str(tmp_path / 'y.safetensors')],
        env=subprocess_env(hub), cwd=str(tmp_path), text=True,
        capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cache, weights = proc.stdout.split()[-2:]
    assert cache == hub.cache
    assert weights.startswith(osp.join(hub.cache, 'models--org--name',
                                       'snapshots', hub.commits['new']))
    out = load_file(str(tmp_path / 'y.safetensors'))['out']
    assert torch.equal(out, outputs(hub.models['new'], x))


def test_training_starts_from_hub_weights(hub, tmp_path):
    data = make_synthetic_iemocap(str(tmp_path / 'data'), seed=0, sizes=dict(
        train=16, validation=8, test=8))
    work = tmp_path / 'work'
    # lr 0: the checkpoint after one epoch must hold the published weights.
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', DEMO, '--work-dir', str(work),
         '--no-test', '--cfg-options', f'data_root={data}',
         f'load_from=hf://{REPO}', 'train_cfg.max_epochs=1',
         'train_dataloader.batch_size=4', 'optim_wrapper.optimizer.lr=0.0'],
        env=subprocess_env(hub), cwd=ROOT, text=True, capture_output=True,
        timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'Load checkpoint from hf://{REPO}' in log
    assert 'do not match exactly' not in log  # every key fitted
    assert 'Epoch(train) [1][4/4]' in log and 'Epoch(val) [1]' in log
    state = load_checkpoint_safely(str(work / 'epoch_1.pth'))['state_dict']
    published = hub.models['new'].state_dict()
    assert set(state) == set(published)
    assert all(torch.equal(state[k], v) for k, v in published.items())


def test_component_weights_via_pretrained_init(hub, default_cache):
    """mmengine's PretrainedInit with hf:// and a prefix, on one component."""
    model = demo_model(3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    PretrainedInit(checkpoint=f'hf://{REPO}', prefix='nrgf.')(model.nrgf)
    check_only_nrgf_published(model, before, hub.models['new'].state_dict())


def check_only_nrgf_published(model, before, published):
    state = model.state_dict()
    nrgf = [k for k in state if k.startswith('nrgf.')]
    assert nrgf and all(torch.equal(state[k], published[k]) for k in nrgf)
    assert not any(torch.equal(before[k], published[k]) for k in nrgf)
    others = [k for k in state if not k.startswith('nrgf.')]
    assert all(torch.equal(state[k], before[k]) for k in others)
    assert not any(torch.equal(state[k], published[k]) for k in others
                   if state[k].dim() >= 2)  # random weights, not zero biases


def test_component_init_cfg_from_hub_in_config(hub, default_cache):
    cfg = Config.fromfile(DEMO).model
    cfg.nrgf = dict(type='NRGFExtractor', init_cfg=dict(
        type='Pretrained', checkpoint=f'hf://{REPO}', prefix='nrgf.'))
    torch.manual_seed(3)
    model = build_in_scope(MODELS, cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    check_only_nrgf_published(model, before, hub.models['new'].state_dict())


# ----------------------------------------------------------------- bad repos

def bad_repo(hub, name, files):
    """A repo ``org/<name>`` in the cache; returns its id."""
    repo_id = f'org/{name}'
    if not osp.isdir(osp.join(hub.cache, 'models--org--' + name)):
        add_to_hub_cache(hub.cache, repo_id, files)
    return repo_id


def weights_bytes(hub):
    with open(osp.join(hub.folders['new'], WEIGHTS_NAME), 'rb') as f:
        return f.read()


def config_bytes(hub):
    with open(osp.join(hub.folders['new'], CONFIG_NAME), 'rb') as f:
        return f.read()


@pytest.mark.parametrize('damage', ['truncated', 'corrupted'])
def test_damaged_weights_are_named(hub, damage):
    data = weights_bytes(hub)
    if damage == 'truncated':
        data = data[:len(data) // 2]
    else:  # garbage where the header's JSON starts
        data = data[:8] + b'\x00\xfe' * 16 + data[40:]
    repo_id = bad_repo(hub, damage, {CONFIG_NAME: config_bytes(hub),
                                     WEIGHTS_NAME: data})
    with pytest.raises(PretrainedError) as err:
        from_pretrained(repo_id, cache_dir=hub.cache)
    msg = str(err.value)
    assert 'models--org--' + damage in msg and WEIGHTS_NAME in msg
    assert 'corrupted or truncated safetensors' in msg
    assert ('incomplete metadata' if damage == 'truncated'
            else 'deserializing header') in msg


def test_config_of_another_architecture(hub):
    bert = json.dumps(dict(architectures=['BertModel'], model_type='bert',
                           hidden_size=768)).encode()
    repo_id = bad_repo(hub, 'bert', {CONFIG_NAME: bert,
                                     WEIGHTS_NAME: weights_bytes(hub)})
    with pytest.raises(PretrainedError) as err:
        from_pretrained(repo_id, cache_dir=hub.cache)
    msg = str(err.value)
    assert CONFIG_NAME in msg and 'models--org--bert' in msg
    assert "'bert'" in msg and 'NormTR' in msg


@pytest.mark.parametrize('missing', [CONFIG_NAME, WEIGHTS_NAME])
def test_missing_file_in_repo_and_folder(hub, tmp_path, missing):
    present = {n: v for n, v in ((CONFIG_NAME, config_bytes(hub)),
                                 (WEIGHTS_NAME, weights_bytes(hub)))
               if n != missing}
    repo_id = bad_repo(hub, 'no-' + missing.split('.')[0], present)
    with pytest.raises(PretrainedError) as err:
        from_pretrained(repo_id, cache_dir=hub.cache)
    assert repo_id in str(err.value) and missing in str(err.value)
    for name, data in present.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(PretrainedError) as err:
        from_pretrained(str(tmp_path))
    assert str(tmp_path) in str(err.value) and missing in str(err.value)


def test_repo_not_in_offline_cache(hub):
    with pytest.raises(PretrainedError, match='org/absent'):
        from_pretrained('org/absent', cache_dir=hub.cache)


def test_pickled_weights_are_refused_unopened(hub, tmp_path):
    marker = tmp_path / 'unpickled.marker'
    torch.save({'w': PickleBomb(marker)}, str(tmp_path / 'pytorch_model.bin'))
    torch.save(PickleBomb(marker), str(tmp_path / 'model.pth'))
    # The bomb is live: unpickling a twin of it does create its marker.
    twin = tmp_path / 'twin.marker'
    torch.save(PickleBomb(twin), str(tmp_path / 'twin.pt'))
    torch.load(str(tmp_path / 'twin.pt'), weights_only=False)
    assert twin.exists()

    folder = tmp_path / 'folder'
    folder.mkdir()
    (folder / CONFIG_NAME).write_bytes(config_bytes(hub))
    for name in ('pytorch_model.bin', 'model.pth'):
        os.replace(tmp_path / name, folder / name)
    with pytest.raises(PretrainedError) as err:
        from_pretrained(str(folder))
    msg = str(err.value)
    assert WEIGHTS_NAME in msg and 'never' in msg
    assert "'model.pth'" in msg and "'pytorch_model.bin'" in msg

    repo_id = bad_repo(hub, 'pickles', {
        n: str(folder / n)
        for n in (CONFIG_NAME, 'pytorch_model.bin', 'model.pth')})
    with pytest.raises(PretrainedError) as err:
        from_pretrained(repo_id, cache_dir=hub.cache)
    assert repo_id in str(err.value) and WEIGHTS_NAME in str(err.value)
    with pytest.raises(PretrainedError):
        load_from_hub(f'hf://{folder}')
    assert not marker.exists()


@pytest.mark.parametrize('problem', ['missing', 'unexpected', 'shape'])
def test_strict_loading_names_keys(hub, tmp_path, problem):
    state = load_file(osp.join(hub.folders['new'], WEIGHTS_NAME))
    if problem == 'missing':
        del state['head.fc.bias']
        expected = ['missing keys', "'head.fc.bias'"]
    elif problem == 'unexpected':
        state['extra.weight'] = torch.zeros(2)
        expected = ['unexpected keys', "'extra.weight'"]
    else:
        state['head.fc.weight'] = torch.zeros(8, 3)
        expected = ['shape mismatches', 'head.fc.weight: expected (8, 64), '
                    'found (8, 3)']
    (tmp_path / CONFIG_NAME).write_bytes(config_bytes(hub))
    save_file(state, str(tmp_path / WEIGHTS_NAME))
    with pytest.raises(PretrainedError) as err:
        from_pretrained(str(tmp_path))
    msg = str(err.value)
    assert str(tmp_path) in msg and 'do not fit' in msg
    for text in expected:
        assert text in msg


# --------------------------------------------------------------- push_to_hub

class FakeApi:
    """Records calls; checks the folder as it is at upload time."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(('create_repo', repo_id, kwargs))

    def upload_folder(self, folder_path, repo_id, **kwargs):
        files = sorted(os.listdir(folder_path))
        with open(osp.join(folder_path, CONFIG_NAME)) as f:
            config = json.load(f)
        state = load_file(osp.join(folder_path, WEIGHTS_NAME))
        self.calls.append(('upload_folder', repo_id, dict(
            kwargs, folder_path=folder_path, files=files, config=config,
            state=state)))
        return 'https://huggingface.co/org/pushed/commit/0'


def check_push(api, model, repo_id):
    (create, name, kwargs), (upload, name2, info) = api.calls
    assert (create, name, name2, upload) == (
        'create_repo', repo_id, repo_id, 'upload_folder')
    assert kwargs['repo_type'] == 'model' and info['repo_type'] == 'model'
    assert {CONFIG_NAME, WEIGHTS_NAME} <= set(info['files'])
    assert info['config']['architecture'] == 'NormTR'
    assert set(info['state']) == set(model.state_dict())
    assert all(torch.equal(info['state'][k], v)
               for k, v in model.state_dict().items())
    return info


def test_push_to_hub_folder_and_model(hub):
    api = FakeApi()
    assert push_to_hub(hub.folders['new'], 'org/pushed', api=api) \
        .endswith('/commit/0')
    info = check_push(api, hub.models['new'], 'org/pushed')
    assert info['folder_path'] == hub.folders['new']
    assert CONFIG_NAME in info['allow_patterns']


def test_push_to_hub_refuses_incomplete_folder(tmp_path):
    api = FakeApi()
    (tmp_path / CONFIG_NAME).write_text('{}')
    with pytest.raises(PretrainedError, match=WEIGHTS_NAME):
        push_to_hub(str(tmp_path), 'org/x', api=api)
    assert api.calls == []


def test_a_hub_repos_checksums_are_verified(hub):
    """Issue 18 case 13: a repo's SHA256SUMS is fetched with its files; the
    weights of ``old`` under the checksums of ``new`` are refused."""
    from normtr_plugin.hub.checksums import CHECKSUMS_NAME, ChecksumError
    new = hub.folders['new']
    files = dict(saved_files(new),
                 **{CHECKSUMS_NAME: osp.join(new, CHECKSUMS_NAME)})
    from_pretrained(bad_repo(hub, 'summed', files), cache_dir=hub.cache)
    files[WEIGHTS_NAME] = osp.join(hub.folders['old'], WEIGHTS_NAME)
    with pytest.raises(ChecksumError, match="'org/mismatched': "
                       'model.safetensors is corrupted or was changed'):
        from_pretrained(bad_repo(hub, 'mismatched', files),
                        cache_dir=hub.cache)
