"""Every shell command in README.md and docs/**/*.md runs.

Commands are the lines of fenced ``bash``/``sh``/``shell``/``console``
blocks (continuations joined, ``&&`` and ``;`` split, comments dropped).
Each is matched against ``RULES`` (first match wins); a command no rule
matches fails, so a new documented command needs a rule.

They run in a sandbox that looks like a fresh clone (``tools``,
``configs``, ``normtr_plugin``, ... linked from the repository root, cwd =
the sandbox), so the docs' relative paths are relative to the repository
root as the docs say. ``data/synthetic_iemocap`` is a tiny generated demo
dataset; ``$MMMO_H5`` is ``../shared/data/mmmo`` where it exists. A command
runs for real when every input it names exists there (training gets
``train_cfg.max_epochs=1``); otherwise (Hub ids, the paper's feature files,
checkpoints of runs not made here) its ``--help`` runs and every flag it
uses must be listed, every config it names must exist and every
``--cfg-options`` key must name a place in that config.
"""
import functools
import glob
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from typing import NamedTuple

import pytest
from mmengine.config import Config

from conftest import ROOT
from normtr_plugin.datasets import make_synthetic_iemocap

DOCS = ['README.md'] + sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True))
SHELL = {'bash', 'sh', 'shell', 'console'}
FENCE = re.compile(r'^```(\w*)[^\n]*\n(.*?)^```', re.M | re.S)
LINKED = ('tools', 'configs', 'normtr_plugin', 'model_cards', 'benchmarks',
          'tests', 'pyproject.toml', 'setup.cfg')
COPIED = ('README.md', 'docs/numbers.json')  # readme_numbers.py rewrites
TINY_DATA = dict(train=64, validation=16, test=16)
TRAIN_OPTIONS = ['train_cfg.max_epochs=1']
OUTPUT_FLAGS = {'--out', '--work-dir', '--dump', '--push-to-hub'}
INPUT = re.compile(r'/|\.(pth|pkl|npz|h5|csv|safetensors)$')
PLACEHOLDER = re.compile(r'[A-Z][A-Z0-9_]*')  # CKPT, FORMAT: never exists
MMMO_H5 = osp.join(ROOT, '..', 'shared', 'data', 'mmmo')


class Command(NamedTuple):
    doc: str
    line: int
    text: str


def doc_commands():
    commands = []
    for doc in DOCS:
        with open(osp.join(ROOT, doc)) as f:
            text = f.read()
        for block in FENCE.finditer(text):
            if block.group(1) not in SHELL:
                continue
            first = text.count('\n', 0, block.start(2)) + 1
            lines = block.group(2).split('\n')
            i = 0
            while i < len(lines):
                start, line = i, lines[i]
                while line.rstrip().endswith('\\') and i + 1 < len(lines):
                    i += 1
                    line = line.rstrip()[:-1] + ' ' + lines[i].strip()
                i += 1
                for part in re.split(r'\s*(?:&&|;)\s*', strip_comment(line)):
                    if part.strip():
                        commands.append(
                            Command(doc, first + start, part.strip()))
    return commands


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# ...`` comment (outside quotes)."""
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in '"\'':
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1].isspace()):
            break
        out.append(ch)
    return ''.join(out).rstrip()


COMMANDS = doc_commands()
pytestmark = pytest.mark.docs


# ---------------------------------------------------------------- sandbox
class Sandbox:
    """A fresh-clone-like folder; shell variables set by the docs."""

    def __init__(self, path):
        self.path = str(path)
        self.vars = dict(MMMO_H5=osp.abspath(MMMO_H5))
        self.env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT,
                        HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')

    def expand(self, text: str) -> list:
        for name, value in sorted(self.vars.items(), key=lambda kv:
                                  -len(kv[0])):
            text = text.replace('${' + name + '}', value)
            text = re.sub(r'\$' + name + r'(?!\w)', lambda _: value, text)
        return shlex.split(text)

    def exists(self, path: str) -> bool:
        return osp.exists(osp.join(self.path, path))

    def run(self, args, timeout=600):
        return subprocess.run(args, cwd=self.path, env=self.env, text=True,
                              capture_output=True, timeout=timeout)


@pytest.fixture(scope='module')
def sandbox(tmp_path_factory):
    box = Sandbox(tmp_path_factory.mktemp('clone'))
    for name in LINKED:
        os.symlink(osp.join(ROOT, name), osp.join(box.path, name))
    os.makedirs(osp.join(box.path, 'data'))
    os.makedirs(osp.join(box.path, 'docs'))
    for name in COPIED:
        shutil.copy(osp.join(ROOT, name), osp.join(box.path, name))
    make_synthetic_iemocap(osp.join(box.path, 'data', 'synthetic_iemocap'),
                           seed=0, sizes=TINY_DATA)
    return box


# ---------------------------------------------------------------- handlers
def accept_shell(box, cmd):
    """Shell syntax: ``for X in A ...`` sets X to A, ``do``/``done`` are
    accepted; ``export X=V``
    and ``X=V`` (also ``X=$(ls GLOB)``) set a variable for later
    commands."""
    loop = re.match(r'^for (\w+) in (\S+)', cmd.text)
    if loop:  # the loop body is checked once, with the first value
        box.vars[loop.group(1)] = loop.group(2)
        return
    text = re.sub(r'^export\s+', '', cmd.text)
    match = re.match(r'^([A-Za-z_]\w*)=(.*)$', text)
    if not match:
        return
    name, value = match.groups()
    ls = re.fullmatch(r'\$\(ls ([^)]+)\)', value)
    if ls:
        found = sorted(glob.glob(osp.join(box.path, ls.group(1))))
        value = osp.relpath(found[-1], box.path) if found else ls.group(1)
    else:
        value = ' '.join(box.expand(value)) if value else ''
    box.vars[name] = value


def check_pip(box, cmd):
    """``pip install -e .[EXTRA]``: checked, not run: the extras exist."""
    with open(osp.join(ROOT, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    target = box.expand(cmd.text)[-1]
    extras = re.search(r'\[([\w,]+)\]', target)
    assert target.startswith('.'), f'{cmd}: installs {target!r}, not .'
    for extra in extras.group(1).split(',') if extras else ():
        assert extra in project.get('optional-dependencies', {}), \
            f'{cmd}: no extra {extra!r} in pyproject.toml'


def check_pytest(box, cmd):
    """``python -m pytest [-q]``: checked, not run (this is it): the
    suite's test paths exist, and CI (``.ci/run``) runs this command."""
    cfg = open(osp.join(ROOT, 'setup.cfg')).read()
    paths = re.search(r'testpaths\s*=\s*(.+)', cfg).group(1).split()
    assert all(osp.isdir(osp.join(ROOT, p)) for p in paths), paths
    with open(osp.join(ROOT, '.ci', 'run')) as f:
        assert cmd.text in f.read().split('\n'), \
            f'{cmd}: .ci/run does not run {cmd.text!r}'


@functools.lru_cache(maxsize=None)
def help_text(args: tuple) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run(list(args) + ['--help'], cwd=ROOT, env=env,
                          text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, f'{args} --help: {proc.stderr[-2000:]}'
    return proc.stdout


def flags_of(words):
    return [w.split('=', 1)[0] for w in words if w.startswith('--')]


def cfg_option_keys(words):
    """The keys after ``--cfg-options`` (up to the next flag)."""
    if '--cfg-options' not in words:
        return []
    keys = []
    for word in words[words.index('--cfg-options') + 1:]:
        if word.startswith('--'):
            break
        keys.append(word.split('=', 1)[0])
    return keys


def check_config_keys(cmd, config, keys):
    """Every ``--cfg-options`` key's parent is a dict of ``config``."""
    cfg = Config.fromfile(osp.join(ROOT, config)).to_dict()
    for key in keys:
        node = cfg
        for part in key.split('.')[:-1]:
            assert isinstance(node, dict) and part in node, \
                f'{cmd}: --cfg-options {key}: {config} has no {part!r}'
            node = node[part]
        assert isinstance(node, dict), f'{cmd}: --cfg-options {key}: ' \
            f'{key.rsplit(".", 1)[0]} of {config} is not a dict'


def check_help(box, cmd, words=None):
    """``--help`` of the tool runs and lists every flag the command uses;
    its configs exist and its ``--cfg-options`` keys fit the config."""
    words = words or box.expand(cmd.text)
    tool = words[1]
    sub = [words[2]] if tool.endswith(('speaker_folds.py',
                                       'selection_study.py')) else []
    text = help_text((sys.executable, tool, *sub))
    for flag in flags_of(words):
        assert re.search(r'(?<![\w-])' + re.escape(flag) + r'\b', text), \
            f'{cmd}: {tool} has no flag {flag}'
    configs = [w for w in words if re.fullmatch(r'configs/\S+\.py', w)]
    for config in configs:
        assert osp.isfile(osp.join(ROOT, config)), f'{cmd}: no {config}'
    if configs:
        check_config_keys(cmd, configs[0], cfg_option_keys(words))


def inputs_of(words):
    """Paths the command reads (not the values of output flags), with the
    config's own ``data_root`` unless an option sets it."""
    out, skip = [], False
    configs = [w for w in words if re.fullmatch(r'configs/\S+\.py', w)]
    if configs and osp.isfile(osp.join(ROOT, configs[0])) and \
            not any(w.startswith('data_root=') for w in words):
        root = Config.fromfile(osp.join(ROOT, configs[0])).get('data_root')
        out += [root] if root else []
    for word in words[2:]:
        if skip or word.startswith('-'):
            skip = word in OUTPUT_FLAGS
            continue
        if '=' in word:  # a --cfg-options value, NAME=DIR
            key, value = word.split('=', 1)
            if key == 'data_root' or INPUT.search(value):
                out.append(value)
            continue
        out += [p for p in word.split(',')
                if INPUT.search(p) or PLACEHOLDER.fullmatch(p)]
    return out


def run_or_help(box, cmd):
    """Run the command in the sandbox when every input it names exists
    there (training for one epoch), else :func:`check_help`."""
    words = box.expand(cmd.text)
    if not all(box.exists(p) for p in inputs_of(words)):
        return check_help(box, cmd, words)
    if words[1] == 'tools/convert_dataset.py' and \
            box.exists(words[words.index('--out') + 1]):
        return check_help(box, cmd, words)  # converted by an earlier doc
    check_help(box, cmd, words)
    if words[1] == 'tools/train.py':
        if '--cfg-options' in words:
            at = words.index('--cfg-options') + 1
            words[at:at] = TRAIN_OPTIONS
        else:
            words += ['--cfg-options', *TRAIN_OPTIONS]
    proc = box.run([sys.executable, *words[1:]])
    assert proc.returncode == 0, \
        f'{cmd}:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}'


def check_accelerate(box, cmd):
    """``accelerate launch [flags] tools/train.py ...``: accelerate's flags
    exist, and the tool's command is checked as :func:`check_help`."""
    words = box.expand(cmd.text)
    at = next(i for i, w in enumerate(words) if w.startswith('tools/'))
    exe = shutil.which('accelerate')
    assert exe, 'accelerate is not installed'
    text = help_text((exe, 'launch'))
    for flag in flags_of(words[2:at]):
        assert flag in text, f'{cmd}: accelerate launch has no {flag}'
    check_help(box, cmd, ['python', *words[at:]])


def render_readme(box, cmd):
    """``readme_numbers.py --render-only`` runs on the sandbox's copy of
    README.md and leaves it as it is (README and numbers.json agree)."""
    words = box.expand(cmd.text)
    check_help(box, cmd, words)
    proc = box.run([sys.executable, *words[1:]])
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(osp.join(box.path, 'README.md')) as f:
        rendered = f.read()
    with open(osp.join(ROOT, 'README.md')) as f:
        assert rendered == f.read(), f'{cmd} changed README.md'


TOOLS = (r'tools/(train|test|tune|infer|publish|robustness|visualize|'
         r'convert_dataset|extract_features|speaker_folds|'
         r'analysis_tools/noise_aware_sweep)\.py')
# regex on the command -> how it is checked (first match wins)
RULES = [
    (r'^(for \w+ in .*|do|done|export \w+=.*|[A-Za-z_]\w*=.*)$',
     accept_shell),
    (r'^pip install -e \S+$', check_pip),
    (r'^python -m pytest( -q)?$', check_pytest),
    (r'^accelerate launch .*' + TOOLS, check_accelerate),
    # fresh runs of the README's numbers and the noise-aware sweep (hours):
    # flags only (tests/test_analysis_tools.py runs the sweep tiny)
    (r'^python tools/analysis_tools/noise_aware_sweep\.py ', check_help),
    # the padding measurement (issue 19; tests/test_padding_mask.py runs it
    # tiny)
    (r'^python benchmarks/padding_mask\.py ', check_help),
    (r'^python tools/analysis_tools/readme_numbers\.py --only ', check_help),
    # the tuned comparison on MMMO (issue 19; an hour and more): flags only
    # (tests/test_readme_numbers.py renders its entry)
    (r'^python tools/analysis_tools/real_data_comparison\.py ', check_help),
    # the selection-rule study (issue 19; hours): flags only
    # (tests/test_selection_study.py runs its make step tiny)
    (r'^python tools/analysis_tools/selection_study\.py ', check_help),
    (r'^python tools/analysis_tools/readme_numbers\.py --render-only$',
     render_readme),
    # the demo page serves until stopped: flags only (tests/test_demo_app.py
    # runs it in a browser)
    (r'^python tools/demo_app\.py ', check_help),
    # searches on real data take hours: flags only (the demo search runs;
    # tests/test_tune.py runs tiny ones)
    (r'^python tools/tune\.py configs/(?!normtr_demo\.py)', check_help),
    (r'^python ' + TOOLS + r'(\s|$)', run_or_help),
]


def rule_of(cmd):
    for pattern, handler in RULES:
        if re.search(pattern, cmd.text):
            return handler
    return None


def test_docs_have_commands():
    assert len(COMMANDS) > 20
    docs = {c.doc for c in COMMANDS}
    assert 'README.md' in docs and 'docs/datasets.md' in docs


def test_parsing_and_rules():
    assert strip_comment('python x.py --a "b # c"  # note') == \
        'python x.py --a "b # c"'
    assert rule_of(Command('x.md', 1, 'make install')) is None
    assert rule_of(Command('x.md', 1, 'python tools/new_tool.py')) is None
    assert rule_of(Command('x.md', 1, 'CKPT=$(ls a/*.pth)')) is accept_shell
    assert inputs_of(['python', 'tools/infer.py', 'ORG/NAME', '--input',
                      'f.npz', '--out', 'o/p.json']) == ['ORG/NAME', 'f.npz']
    joined = [c.text for c in COMMANDS if c.text.startswith(
        'python tools/test.py configs/normtr_mosi.py')]
    assert joined and joined[0].endswith('--dump mosi_preds.json')


def test_readme_demo_trains_first():
    """The demo training is the README's first tool command, so the
    commands after it find its checkpoint."""
    first = next(c for c in COMMANDS if c.doc == 'README.md' and
                 'tools/' in c.text)
    assert first.text == 'python tools/train.py configs/normtr_demo.py'


@pytest.mark.parametrize('cmd', COMMANDS,
                         ids=[f'{c.doc}:{c.line}' for c in COMMANDS])
def test_documented_command(sandbox, cmd):
    handler = rule_of(cmd)
    assert handler is not None, \
        f'{cmd.doc}:{cmd.line}: no rule in tests/test_docs_commands.py ' \
        f'matches {cmd.text!r}; add one'
    handler(sandbox, cmd)
