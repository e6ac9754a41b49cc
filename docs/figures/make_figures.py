"""Regenerate the figures committed under docs/figures/.

    python docs/figures/make_figures.py [--work DIR] [--mmmo SRC]
        [--skip-browser] [--only mmmo|demo|browser]

1. MMMO (regression; needs ../shared/data/mmmo or --mmmo, converted with
   tools/convert_dataset.py cmu-h5): configs/normtr_mmmo.py trained for
   3 epochs, then tools/visualize.py --kinds all (attention, t-SNE by
   modality, t-SNE coloured by the true score, cosine densities) and
   tools/robustness.py (ratios 0:1:0.25, 2 masking seeds) whose
   robustness.json tools/visualize.py --kinds robustness draws.
2. The synthetic demo (4 emotions, multi-binary): configs/normtr_demo.py
   trained for 2 epochs; its label t-SNE (one panel per emotion) is
   tsne_label_emotions.png.
3. The demo page: tests/test_demo_app.py in headless Chromium, its
   screenshot copied to demo_page.png.

PNGs at 110 dpi (small files for the docs; papers use --format pdf or
--dpi 300). Runs on CPU in a few minutes.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
MMMO_SRC = osp.join(ROOT, '..', 'shared', 'data', 'mmmo')
DPI = '110'


def run(*args, **env):
    print('+', ' '.join(args), flush=True)
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True,
                   env=dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1',
                            HF_DATASETS_OFFLINE='1', **env))


def copy(src_dir, names, prefix=''):
    for name in names:
        shutil.copy(osp.join(src_dir, name), osp.join(HERE, prefix + name))
        print('wrote', osp.join(HERE, prefix + name))


def mmmo(work, src):
    if not osp.isdir(src):
        print(f'{src} not found: MMMO figures skipped')
        return
    data = osp.join(work, 'mmmo')
    run('tools/convert_dataset.py', 'cmu-h5', src, '--out', data)
    opts = [f'data_root={data}', 'train_cfg.max_epochs=3']
    run('tools/train.py', 'configs/normtr_mmmo.py', '--work-dir',
        osp.join(work, 'train_mmmo'), '--no-test', '--overwrite',
        '--cfg-options', *opts)
    ckpt = osp.join(work, 'train_mmmo', 'epoch_3.pth')
    out = osp.join(work, 'figs_mmmo')
    run('tools/robustness.py', 'configs/normtr_mmmo.py', ckpt, '--names',
        'NORM-TR', '--ratios', '0:1:0.25', '--seeds', '2', '--out',
        osp.join(work, 'rob'), '--device', 'cpu', '--cfg-options',
        f'data_root={data}')
    run('tools/visualize.py', 'configs/normtr_mmmo.py', ckpt, '--out', out,
        '--kinds', 'all', '--robustness', osp.join(work, 'rob',
                                                   'robustness.json'),
        '--max-samples', '300', '--dpi', DPI, '--cfg-options',
        f'data_root={data}')
    copy(out, ['attention.png', 'tsne_nrgf_mf_modality.png',
               'tsne_label.png', 'cosine_density.png',
               'robustness_MAE.png'])


def demo(work):
    from normtr_plugin.datasets import make_synthetic_iemocap
    data = make_synthetic_iemocap(osp.join(work, 'demo'), seed=0)
    run('tools/train.py', 'configs/normtr_demo.py', '--work-dir',
        osp.join(work, 'train_demo'), '--no-test', '--overwrite',
        '--cfg-options', f'data_root={data}', 'train_cfg.max_epochs=2')
    out = osp.join(work, 'figs_demo')
    run('tools/visualize.py', 'configs/normtr_demo.py',
        osp.join(work, 'train_demo', 'epoch_2.pth'), '--out', out,
        '--kinds', 'tsne', '--max-samples', '300', '--dpi', DPI,
        '--cfg-options', f'data_root={data}')
    shutil.copy(osp.join(out, 'tsne_label.png'),
                osp.join(HERE, 'tsne_label_emotions.png'))


def browser():
    run('-m', 'pytest', '-q', 'tests/test_demo_app.py',
        DEMO_SCREENSHOT=osp.join(HERE, 'demo_page.png'))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work', help='keep intermediate files here')
    p.add_argument('--mmmo', default=MMMO_SRC, help='CMU-SDK HDF5 folder')
    p.add_argument('--skip-browser', action='store_true')
    p.add_argument('--only', choices=['mmmo', 'demo', 'browser'])
    args = p.parse_args()
    sys.path.insert(0, ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        steps = dict(mmmo=lambda: mmmo(work, args.mmmo),
                     demo=lambda: demo(work), browser=browser)
        if args.skip_browser:
            steps.pop('browser')
        for name, step in steps.items():
            if args.only in (None, name):
                step()


if __name__ == '__main__':
    main()
