"""The demo page: try a NORM-TR model in the browser (Gradio Blocks).

    page = DemoPage(NormTRInferencer('org/name'), data_root='data/mmmo')
    build_demo(page).launch()          # or tools/demo_app.py MODEL

Inputs: a sample of a dataset split (by index), an uploaded ``.npz`` of
features (one ``(N, T, D)`` array per modality, ``<modality>_lengths``;
the first sample is shown), or a video run through the extraction code of
``tools/extract_features.py`` (only with the backbone's local weights:
they are never downloaded, and a random backbone would give meaningless
features). Outputs: the prediction record (the schema of
``tools/infer.py``) with names, a bar chart of the per-emotion
probabilities (or the score on its scale), the true label when the
dataset has one, the fusion decoder's cross-attention map (Fig. 10) and
the prediction at the masking ratio of a slider (random / window masker
of ``structures/maskers.py``, the robustness evaluation's maskers).

Every prediction goes through :class:`~normtr_plugin.apis.
NormTRInferencer` (:class:`MaskingInferencer` adds test-time masking
between its preprocessing and the model). Gradio is the optional extra
``demo`` (``pip install -e ".[demo]"``); only :func:`build_demo` imports it.
"""
import json
import os.path as osp
import shutil
import tempfile
from typing import Optional

import numpy as np
import torch

from .inferencer import NormTRInferencer
from .inputs import (DatasetBatches, DatasetInputs, InferenceError,
                     read_npz)
from ..structures.maskers import MASKER_TYPES, build_masker, check_ratio
from ..utils import NormTRError
from ..visualization.figure_style import (STYLE, new_figure, palette,
                                          paper_style)
from ..visualization.plots import plot_attention

__all__ = ['DemoPage', 'MaskingInferencer', 'build_demo',
           'plot_prediction']


class MaskingInferencer(NormTRInferencer):
    """``NormTRInferencer`` with optional test-time masking: ``masker``
    (a :class:`~normtr_plugin.structures.maskers.BaseMasker`) erases steps
    of the preprocessed batch before the model predicts; the decoder's
    cross-attention of the (masked) batch is kept in ``last_attention``
    (list per layer of ``(B, heads, L, L)``) and the masks in
    ``last_keep`` (``{m: (B, T_m) bool}``)."""
    forward_kwargs = {'masker'}

    def forward(self, inputs: dict, masker=None, **kwargs) -> list:
        data = self.model.data_preprocessor(inputs, False)
        keep = None
        if masker is not None:
            data, keep = masker.mask_data(data)
        with torch.no_grad():
            self.last_attention = self.model.cross_attention(data['inputs'])
        self.last_keep = keep
        # the base class's path (test_step, finiteness check); the
        # preprocessor only moves tensors, so running it again is a no-op
        return super().forward(data)


@paper_style
def plot_prediction(record: dict, title: str) -> object:
    """Bar chart of a record's ``pred_score`` per name (probabilities in
    [0, 1]), or one bar for a regression score. Returns a Figure."""
    score = record['pred_score']
    fig = new_figure(1, aspect=0.7)
    ax = fig.subplots()
    if isinstance(score, dict):
        names, values = list(score), list(score.values())
        ax.barh(names, values, color=palette(4))
        ax.set_xlim(0, 1)
        ax.set_xlabel('probability')
        ax.invert_yaxis()
    else:
        ax.barh(['score'], [score], color=palette(4))
        ax.axvline(0, color='0.3', lw=0.8)
        ax.set_xlabel('predicted score')
    ax.set_title(title)
    return fig


class DemoPage:
    """What the page computes, without Gradio (tested directly).

    Args:
        inferencer: a :class:`MaskingInferencer` (or the arguments of one:
            a published folder / Hub id, or a config with ``weights``).
        data_root: a dataset in the project's format (folder or Hub id)
            whose ``split`` offers samples; None: uploads only.
        video_weights: local weights of the extraction backbone
            (``tools/extract_features.py --weights``), with
            ``video_backbone`` and ``video_segments``; None: the video
            input says it is unavailable.
    """

    def __init__(self, inferencer, data_root: Optional[str] = None,
                 split: str = 'test', video_weights: Optional[str] = None,
                 video_backbone: str = 'resnet18', video_segments: int = 8):
        if not isinstance(inferencer, MaskingInferencer):
            inferencer = MaskingInferencer(inferencer)
        self.inferencer = inferencer
        self.model = inferencer.model
        self.modalities = list(self.model.modalities)
        self.data_root, self.split = data_root, split
        self.dataset = self.table = None
        if data_root is not None:
            self.dataset = DatasetBatches(DatasetInputs(data_root, split),
                                          self.model.modalities).dataset
            from ..datasets import load_splits
            self.table = load_splits(data_root)[0][split]
        self.video_weights = video_weights
        self.video_backbone, self.video_segments = (video_backbone,
                                                    video_segments)

    # -- inputs -----------------------------------------------------------
    def num_samples(self) -> int:
        return 0 if self.dataset is None else len(self.dataset)

    def sample_inputs(self, index: int):
        """Sample ``index`` of the split: ``(arrays, true_label)``; arrays
        with stated lengths (the inferencer's dict input), the true label
        ``{column: value}`` from the split's label columns (None when it
        has none)."""
        if self.dataset is None:
            raise InferenceError('no dataset was given (--data-root)')
        index = int(index)
        if not 0 <= index < len(self.dataset):
            raise InferenceError(f'sample index {index} out of range: split '
                                 f'{self.split!r} has {len(self.dataset)} '
                                 'samples')
        batch = self.dataset.read_batch([index])
        arrays = dict(id=np.array(batch['ids']))
        for j, m in enumerate(self.modalities):
            arrays[m] = batch[m].numpy()
            arrays[f'{m}_lengths'] = batch['lengths'][:, j].numpy()
        row = self.table[index]
        skip = set(self.modalities) | {'id'}
        label = {k: v for k, v in row.items() if k not in skip} or None
        return arrays, label

    def npz_inputs(self, path: str):
        """The first sample of an uploaded ``.npz``: ``(arrays, None)``."""
        arrays = read_npz(path)
        first = {}
        for k, v in arrays.items():
            first[k] = v[:1] if np.ndim(v) >= 1 else v
        if 'lengths' in first:
            first['lengths'] = arrays['lengths'][:1]
        return first, None

    def video_inputs(self, path: str):
        """A video through ``tools/extract_features.py``'s code (one-row
        manifest, the given backbone weights): ``(arrays, None)``."""
        if not self.video_weights:
            raise InferenceError(self.video_unavailable())
        from ..extraction import extract_features
        with tempfile.TemporaryDirectory(prefix='demo-video-') as tmp:
            name = 'clip' + osp.splitext(path)[1]
            # a copy: media must lie inside the manifest's folder
            shutil.copyfile(path, osp.join(tmp, name))
            with open(osp.join(tmp, 'manifest.csv'), 'w') as f:
                f.write(f'id,split,label,video\nupload,train,none,{name}\n')
            out = osp.join(tmp, 'features')
            extract_features(osp.join(tmp, 'manifest.csv'), out,
                             backbone=self.video_backbone,
                             segments=self.video_segments,
                             weights=self.video_weights, strict=True,
                             progress=False)
            from ..datasets import load_splits
            row = load_splits(out)[0]['train'][0]
        missing = [m for m in self.modalities if m not in row]
        if missing:
            raise InferenceError(
                f'a video gives the modalities video and audio; the model '
                f'needs {self.modalities} (missing {missing})')
        arrays = {m: np.asarray(row[m], np.float32)[None]
                  for m in self.modalities}
        arrays.update({f'{m}_lengths': np.array([x.shape[1]])
                       for m, x in list(arrays.items())})
        return arrays, None

    def video_unavailable(self) -> Optional[str]:
        if self.video_weights:
            return None
        return ('video input needs the weights of the extraction backbone '
                'the model was trained on (tools/extract_features.py '
                '--weights): start the page with --video-weights FILE; '
                'they are not downloaded here')

    # -- prediction -------------------------------------------------------
    def predict(self, arrays: dict, masker: str = 'random',
                ratio: float = 0.0, seed: int = 0) -> dict:
        """The record of one sample (``tools/infer.py``'s schema) at
        masking ``ratio``, with the attention map and the masks."""
        ratio = check_ratio(ratio)
        if masker not in MASKER_TYPES:
            raise InferenceError(f'masker must be one of '
                                 f'{sorted(MASKER_TYPES)}, got {masker!r}')
        m = build_masker(masker, ratio, seed) if ratio > 0 else None
        inf = self.inferencer
        record = inf(arrays, batch_size=1, masker=m)['predictions'][0]
        keep = inf.last_keep
        masked = None if keep is None else torch.cat(
            [~keep[k][0].cpu() for k in self.modalities]).numpy()
        return dict(record=record, attention=inf.last_attention,
                    masked_tokens=masked)

    def attention_figure(self, clean: dict, moved: dict, masker: str,
                         ratio: float):
        fig = plot_attention(
            clean['attention'], moved['attention'], self.modalities,
            self.model.seq_len, masked_tokens=moved['masked_tokens'],
            titles=('no masking', f'{masker} masking, ratio {ratio:g}'))
        fig.suptitle('Fusion decoder cross-attention (mean over heads)',
                     fontsize=STYLE['figure.titlesize'])
        return fig


def _score_text(record: dict) -> str:
    score = record['pred_score']
    if isinstance(score, dict):
        return ', '.join(f'{k} {v:.3f}' for k, v in score.items())
    return f'{score:.3f}'


def build_demo(page: DemoPage, title: str = 'NORM-TR demo'):
    """The Gradio Blocks of ``page`` (element ids for tests: ``record``,
    ``masked-record``, ``true-label``, ``ratio``, ``predict``)."""
    import gradio as gr

    def inputs_of(source, index, upload, video):
        if source == 'dataset sample':
            return page.sample_inputs(index)
        if source == 'features (.npz)':
            if upload is None:
                raise InferenceError('upload an .npz of features first')
            return page.npz_inputs(upload)
        if video is None:
            raise InferenceError('upload a video first')
        return page.video_inputs(video)

    def run(source, index, upload, video, masker, ratio):
        try:  # bad input: its one-line message on the page
            arrays, label = inputs_of(source, index, upload, video)
            clean = page.predict(arrays, masker, 0.0)
            moved = page.predict(arrays, masker, ratio)
        except (NormTRError, ValueError, RuntimeError, OSError) as err:
            raise gr.Error(str(err))
        rec, mrec = clean['record'], moved['record']
        return (json.dumps(rec), json.dumps(mrec),
                'unknown' if label is None else json.dumps(label),
                plot_prediction(rec, 'prediction (no masking)'),
                plot_prediction(mrec, f'{masker} masking, ratio {ratio:g}'),
                page.attention_figure(clean, moved, masker, ratio),
                f'no masking: {_score_text(rec)}\n'
                f'{masker} masking at {ratio:g}: {_score_text(mrec)}')

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f'# {title}\nModalities: {", ".join(page.modalities)}. '
                    'Pick a sample or upload features, then move the '
                    'masking slider to see how the prediction moves.')
        with gr.Row():
            with gr.Column():
                choices = ['features (.npz)', 'video']
                if page.num_samples():
                    choices.insert(0, 'dataset sample')
                source = gr.Radio(choices, value=choices[0], label='input')
                index = gr.Number(0, precision=0, minimum=0,
                                  maximum=max(page.num_samples() - 1, 0),
                                  label=f'sample index in split '
                                  f'{page.split!r} ({page.num_samples()} '
                                  'samples)', elem_id='index')
                upload = gr.File(label='features .npz (one (N, T, D) array '
                                 'per modality, <modality>_lengths)',
                                 file_types=['.npz'], type='filepath')
                video = gr.Video(label='video (' + (
                    page.video_unavailable() or 'features extracted as '
                    'tools/extract_features.py does') + ')',
                    interactive=page.video_weights is not None)
                masker = gr.Radio(sorted(MASKER_TYPES), value='random',
                                  label='test-time masker')
                ratio = gr.Slider(0.0, 1.0, value=0.0, step=0.1,
                                  label='masking ratio', elem_id='ratio')
                button = gr.Button('Predict', elem_id='predict')
            with gr.Column():
                record = gr.Textbox(label='prediction (no masking)',
                                    elem_id='record')
                masked = gr.Textbox(label='prediction at the masking ratio',
                                    elem_id='masked-record')
                truth = gr.Textbox(label='true label', elem_id='true-label')
                moved = gr.Textbox(label='how the prediction moves',
                                   lines=2, elem_id='moved')
                with gr.Row():
                    bars = gr.Plot(label='prediction', show_label=False)
                    mbars = gr.Plot(label='prediction, masked',
                                    show_label=False)
        attention = gr.Plot(label='cross-attention', show_label=False)
        inputs = [source, index, upload, video, masker, ratio]
        outputs = [record, masked, truth, bars, mbars, attention, moved]
        button.click(run, inputs, outputs)
        ratio.release(run, inputs, outputs)
        masker.change(run, inputs, outputs)
    return demo
