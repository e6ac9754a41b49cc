"""Figures of the paper's analysis (Figs. 7-10) for a trained checkpoint.

    python tools/visualize.py CONFIG CHECKPOINT --out DIR [--split test]
        [--sample-index 0] [--masker random|window] [--mask-ratio 0.3]
        [--seed 0] [--max-samples 500]
        [--kinds all | attention tsne cosine robustness]
        [--robustness robustness.json [--invariance]]
        [--format png pdf svg] [--dpi 300] [--cfg-options k=v ...]

Writes into DIR (each atomically, in every ``--format``; PNGs at
``--dpi``), one or two paper columns wide, Okabe-Ito colours:

- ``attention.png``: cross-attention of one sample (mean over heads, last
  decoder layer) without and with masking (Fig. 10). The mask is the one
  the robustness table (``tools/robustness.py``) applies to that sample for
  the same ``--masker``, ``--mask-ratio`` and ``--seed`` (one masker
  family, ``normtr_plugin.structures.maskers``);
- ``tsne_nrgf_mf_modality.png``: t-SNE of NRGFs and MFs pooled over time per
  modality, coloured by modality, marked NRGF vs MF (Figs. 7/8);
- ``tsne_label.png``: t-SNE of the fused features (mean over tokens, what
  the head sees) by label (Fig. 7): a continuous score as a colour scale
  with a colour bar (regression), one panel per emotion (multi-binary /
  multi-label), one colour per class (classification);
- ``cosine_density.png``: densities of cosine similarities within NRGFs and
  between NRGFs and MFs (Fig. 9);
- ``robustness_<metric>.png``: the curves of a ``tools/robustness.py``
  report (``--robustness robustness.json``, Fig. 5), task metrics only
  unless ``--invariance``;
- ``index.html`` (``--kinds all``): every figure with its caption.
"""
import argparse
import html
import json
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Subset

from normtr_plugin.engine import (add_cfg_options, load_checkpoint_safely,
                                  merge_cfg_options, prepare_config)
from normtr_plugin.registry import MODELS, SCOPE, build_in_scope
from normtr_plugin.structures.data_samples import split_data_samples
from normtr_plugin.structures.maskers import MASKER_TYPES, build_masker
from normtr_plugin.utils import (MissingFileError, add_debug_argument,
                                 run_tool, write_text)
from normtr_plugin.visualization import (FORMATS, collect_features,
                                         plot_attention, plot_cosine_density,
                                         plot_robustness, plot_tsne,
                                         plot_tsne_by_label, pool_tokens,
                                         save_figure)
from normtr_plugin.visualization.figure_style import STYLE
from normtr_plugin.visualization.robustness_report import (metric_file_name,
                                                           task_metrics)

KINDS = ('attention', 'tsne', 'cosine', 'robustness')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='NORM-TR figures')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--split', default='test', help='dataset split')
    parser.add_argument('--sample-index', type=int, default=0,
                        help='sample shown in attention.png')
    parser.add_argument('--masker', default='random',
                        choices=sorted(MASKER_TYPES),
                        help='masker of attention.png (as tools/'
                        'robustness.py)')
    parser.add_argument('--mask-ratio', type=float, default=0.3,
                        help='masking ratio r of attention.png')
    parser.add_argument('--seed', type=int, default=0,
                        help='masking seed (as tools/robustness.py)')
    parser.add_argument('--max-samples', type=int, default=500,
                        help='samples for the t-SNE and cosine figures')
    parser.add_argument('--layer', type=int, default=-1,
                        help='decoder layer of attention.png')
    parser.add_argument('--kinds', nargs='+', choices=KINDS + ('all',),
                        default=['attention', 'tsne', 'cosine'],
                        help="figures to draw; 'all' draws every kind "
                        '(robustness with --robustness) and writes '
                        'index.html')
    parser.add_argument('--robustness', metavar='JSON',
                        help='robustness.json of tools/robustness.py, for '
                        'the robustness curves')
    parser.add_argument('--invariance', action='store_true',
                        help='robustness curves of the invariance '
                        'diagnostics too (default: task metrics only)')
    parser.add_argument('--format', nargs='+', choices=FORMATS,
                        default=['png'], help='file formats (default png)')
    parser.add_argument('--dpi', type=int, default=300,
                        help='resolution of PNGs (default 300)')
    add_cfg_options(parser, 'override config settings, e.g. data_root=DIR')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    args.index = 'all' in args.kinds
    if args.index:
        args.kinds = [k for k in KINDS if k != 'robustness'
                      or args.robustness]
    if 'robustness' in args.kinds and not args.robustness:
        parser.error('--kinds robustness needs --robustness JSON')
    if args.dpi < 10:
        parser.error(f'--dpi must be >= 10, got {args.dpi}')
    return args


def build_model(cfg, checkpoint: str):
    model = build_in_scope(MODELS, cfg.model)
    state = load_checkpoint_safely(checkpoint, map_location='cpu')
    if not isinstance(state, dict) or 'state_dict' not in state:
        raise KeyError(f'{checkpoint} has no state_dict; expected a '
                       f'checkpoint written by tools/train.py')
    model.load_state_dict(state['state_dict'], strict=True)
    return model.eval()


def build_dataloader(cfg, split: str) -> DataLoader:
    """The config's test dataloader (workers, collate) on ``split``."""
    loader = cfg.test_dataloader.copy()
    loader['dataset'] = dict(loader['dataset'], split=split)
    with DefaultScope.overwrite_default_scope(SCOPE):
        return Runner.build_dataloader(loader)


def masked_sample(model, loader: DataLoader, index: int, masker):
    """Sample ``index`` of ``loader``'s dataset, preprocessed onto the
    model's device, clean and masked by ``masker`` (exactly as the
    robustness loop masks it). Returns ``(data, masked, keep)``."""
    dataset = loader.dataset
    if not 0 <= index < len(dataset):
        raise IndexError(f'--sample-index {index} out of range for '
                         f'{len(dataset)} samples')
    one = DataLoader(Subset(dataset, [index]), batch_size=1,
                     collate_fn=loader.collate_fn)
    data = model.data_preprocessor(next(iter(one)), False)
    masked, keep = masker.mask_data(data)
    return data, masked, keep


def draw_attention(model, loader, args):
    masker = build_masker(args.masker, args.mask_ratio, args.seed)
    data, masked, keep = masked_sample(model, loader, args.sample_index,
                                       masker)
    with torch.no_grad():
        clean_attn = model.cross_attention(data['inputs'])
        masked_attn = model.cross_attention(masked['inputs'])
    modalities = list(model.modalities)
    tokens = torch.cat([~keep[m][0] for m in modalities]).cpu().numpy()
    sample = split_data_samples(data['data_samples'])[0]
    sample_id = sample.metainfo.get('id')
    fig = plot_attention(clean_attn, masked_attn, modalities,
                         model.seq_len, layer=args.layer,
                         masked_tokens=tokens)
    fig.suptitle(f'Cross-attention of sample {sample_id!r} (mean over '
                 f'heads; {args.masker} masking, ratio {args.mask_ratio:g}, '
                 f'seed {args.seed})', fontsize=STYLE['figure.titlesize'])
    return fig


def draw_tsne(model, dataset, nrgf, mf, labels, fused):
    modalities = list(model.modalities)
    B, M = nrgf.shape[:2]
    pooled = np.concatenate([pool_tokens(nrgf).reshape(B * M, -1),
                             pool_tokens(mf).reshape(B * M, -1)])
    modality = np.tile(np.array(modalities), 2 * B)
    kind = np.repeat(np.array(['NRGF', 'MF']), B * M)
    figs = dict(tsne_nrgf_mf_modality=plot_tsne(
        pooled, modality, 'Noise-resistant (NRGF) and modality-specific '
        '(MF) features by modality', marker_labels=kind))
    if labels is not None:
        names = model.head.output_names(dataset.metainfo)
        figs['tsne_label'] = plot_tsne_by_label(
            fused.mean(dim=1).numpy(), labels, names, names,
            'Fused features by true label')
    else:
        print('no labels in this split: tsne_label.png skipped')
    return figs


def draw_robustness(path: str, invariance: bool) -> dict:
    """Curves of a robustness.json: task metrics, diagnostics on request."""
    with open(path) as f:
        results = json.load(f)
    names = []
    for entry in results['models'].values():
        names += [m for m in entry['metrics'] if m not in names]
    metrics = names if invariance else task_metrics(names)
    return {osp.splitext(metric_file_name(m))[0]: plot_robustness(results, m)
            for m in metrics}


CAPTIONS = dict(
    attention='Cross-attention of the fusion decoder for one sample, '
    'without and with test-time masking (mean over heads); rows are the '
    'noise-resistant queries, columns the modality-specific keys, '
    'modality blocks labelled (paper Fig. 10).',
    tsne_nrgf_mf_modality='t-SNE of the noise-resistant (NRGF) and '
    'modality-specific (MF) features, averaged over time, by modality '
    '(paper Figs. 7/8).',
    tsne_label='t-SNE of the fused features (what the head sees) by true '
    'label (paper Fig. 7).',
    cosine_density='Densities of cosine similarities between the '
    'noise-resistant features of different modalities and between '
    'noise-resistant and modality-specific features (paper Fig. 9).')


def caption(name: str) -> str:
    if name.startswith('robustness_'):
        return (f"{name[len('robustness_'):]} against the test-time masking "
                'ratio, with the spread as a band (paper Fig. 5).')
    return CAPTIONS.get(name, name)


def write_index(out: str, names, fmt: str) -> str:
    """``index.html``: every figure with its caption."""
    items = '\n'.join(
        f'<figure><img src="{html.escape(n)}.{fmt}" alt="{html.escape(n)}" '
        f'style="max-width:100%"><figcaption><b>{html.escape(n)}</b>: '
        f'{html.escape(caption(n))}</figcaption></figure>' for n in names)
    return write_text(osp.join(out, 'index.html'),
                      '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
                      '<title>NORM-TR figures</title></head><body>\n'
                      f'<h1>NORM-TR figures</h1>\n{items}\n</body></html>\n')


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise MissingFileError(f'checkpoint {args.checkpoint!r} not found')
    cfg = merge_cfg_options(Config.fromfile(args.config), args.cfg_options)
    prepare_config(cfg)  # what NormTRRunner decides (data_root etc.)
    model = build_model(cfg, args.checkpoint)
    loader = build_dataloader(cfg, args.split)
    figs = {}
    if 'attention' in args.kinds:
        figs['attention'] = draw_attention(model, loader, args)
    if 'tsne' in args.kinds or 'cosine' in args.kinds:
        nrgf, mf, labels, _, fused = collect_features(
            model, loader, args.max_samples, return_fused=True)
        if 'tsne' in args.kinds:
            figs.update(draw_tsne(model, loader.dataset, nrgf, mf, labels,
                                  fused))
        if 'cosine' in args.kinds:
            figs['cosine_density'] = plot_cosine_density(
                nrgf, mf, title=f'cosine similarities ({len(nrgf)} '
                f'{args.split} samples)')
    if 'robustness' in args.kinds:
        figs.update(draw_robustness(args.robustness, args.invariance))
    for name, fig in figs.items():
        for fmt in args.format:
            path = save_figure(fig, osp.join(args.out, f'{name}.{fmt}'),
                               dpi=args.dpi)
            print(path)
    if args.index:
        print(write_index(args.out, list(figs), args.format[0]))


if __name__ == '__main__':
    run_tool(main)
