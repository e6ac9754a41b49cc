"""Robustness under test-time masking as an mmengine test loop (SPEC 5).

    test_cfg = dict(type='RobustnessTestLoop', ratios='0:1:0.1', seeds=3,
                    masker='random', constant_reference=True)

``Runner.test()`` then runs one pass of the Runner's test dataloader per
(masking seed, ratio) with the Runner's evaluator, hooks, AMP setting and
(distributed) sampler: memory is one batch, whatever the split's size.
Each batch goes through the model's data preprocessor (onto the model's
device), is masked there by the masker family
(:mod:`normtr_plugin.structures.maskers`; a sample's mask depends only on the
seed, its id and the modality) and is predicted as ``BaseModel.test_step``
does. A mask that does not depend on the seed (r = 0 and r = 1) is
evaluated once.

``Runner.test()`` returns the AUILC means (``AUILC/<metric>`` over the full
grid, ``AUILC_below_1/<metric>`` over r < 1); the loop's ``results``
holds everything (``summarise_masking``'s dict plus ``masker``,
``ratios``, ``seeds``, ``num_samples``, ``evaluations`` and, with
``constant_reference``, the metrics of a constant predictor: the head's
prediction from the training labels alone, majority class or mean).
"""
import time
from typing import Dict, Optional, Union

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast

from ..evaluation.robustness_grid import parse_ratios, parse_seeds
from ..evaluation.robustness_summary import summarise_masking
from ..models.heads import BaseEmotionHead
from ..registry import DATASETS, LOOPS, build_in_scope
from ..structures.data_samples import split_data_samples
from ..structures.maskers import BaseMasker, build_masker

__all__ = ['RobustnessTestLoop']


@LOOPS.register_module()
class RobustnessTestLoop(TestLoop):
    """Test once per (masking seed, ratio); see the module docstring.

    Args:
        runner, dataloader, evaluator, fp16: as mmengine's ``TestLoop``.
        ratios: masking ratios (``'start:stop:step'``, a comma list or a
            sequence; default 0, 0.1, ..., 1).
        seeds: masking seeds (a count N for 0..N-1, or a list).
        masker: ``'random'``, ``'window'`` or a masker config
            (``dict(type='RandomMasker')``); its ratio and seed are set per
            pass.
        constant_reference: also score the constant predictor.
    """

    #: InvarianceRequestHook leaves the model's diagnostics off here: the
    #: masked passes never run D1/D2 or the noisy forward pass
    never_diagnoses = True

    def __init__(self, runner, dataloader, evaluator, ratios='0:1:0.1',
                 seeds=3, masker: Union[str, dict] = 'random',
                 fp16: bool = False, constant_reference: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16)
        self.ratios = parse_ratios(ratios)
        self.seeds = parse_seeds(seeds)
        self.masker = build_masker(masker)
        self.constant_reference = bool(constant_reference)
        self.results: Optional[dict] = None
        #: the masker of the pass under way (hooks may read it)
        self.current_masker: Optional[BaseMasker] = None

    @property
    def module(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def run(self) -> Dict[str, float]:
        """All passes; returns the AUILC means (module docstring)."""
        self.runner.call_hook('before_test')
        t0 = time.perf_counter()
        cache, per_run = {}, {}
        for seed in self.seeds:
            for ratio in self.ratios:
                masker = build_masker(self.masker, ratio, seed)
                key = ratio if masker.seed_independent else (seed, ratio)
                if key not in cache:
                    cache[key] = self.run_epoch(masker)
                per_run[(seed, ratio)] = cache[key]
        results = summarise_masking(per_run, self.ratios, self.seeds)
        results.update(masker=self.masker.kind, ratios=self.ratios,
                       seeds=self.seeds, evaluations=len(cache),
                       num_samples=len(self.dataloader.dataset))
        if self.constant_reference:
            results['reference'] = self.run_reference()
        results['seconds'] = round(time.perf_counter() - t0, 3)
        self.results = results
        self.runner.call_hook('after_test')
        return {f'{prefix}/{m}': v['mean']
                for key, prefix in (('auilc', 'AUILC'),
                                    ('auilc_below_1', 'AUILC_below_1'))
                for m, v in results[key].items()}

    def run_epoch(self, masker: BaseMasker) -> Dict[str, float]:
        """One pass over the test dataloader with ``masker``."""
        self.current_masker = masker
        self.runner.logger.info(
            f'robustness: {masker.kind} masking, ratio {masker.ratio:g}, '
            f'seed {masker.seed}')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch, masker)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        return metrics

    @torch.no_grad()
    def run_iter(self, idx, data_batch, masker: Optional[BaseMasker] = None
                 ) -> None:
        """Preprocess, mask on the model's device, predict, evaluate.

        Hooks and the evaluator see the masked batch (what was evaluated).
        Public API only: the data preprocessor, then the model's
        ``forward(mode='predict')`` (what ``BaseModel.test_step`` runs after
        preprocessing).
        """
        self.runner.call_hook('before_test_iter', batch_idx=idx,
                              data_batch=data_batch)
        module = self.module
        with autocast(enabled=self.fp16):
            data = module.data_preprocessor(data_batch, False)
            if masker is not None:
                data, _ = masker.mask_data(data)
            outputs = module(**data, mode='predict') if isinstance(
                data, dict) else module(*data, mode='predict')
        self.evaluator.process(data_samples=outputs, data_batch=data)
        self.runner.call_hook('after_test_iter', batch_idx=idx,
                              data_batch=data, outputs=outputs)

    # ------------------------------------------------------------------
    # Constant predictor
    # ------------------------------------------------------------------

    def training_targets(self) -> torch.Tensor:
        """The training split's labels (``train_dataloader.dataset`` of the
        Runner's config, read without its pipeline)."""
        loader = self.runner.cfg.get('train_dataloader') or {}
        ds_cfg = loader.get('dataset')
        if not ds_cfg:
            raise KeyError('constant_reference needs the training labels: '
                           'the config has no train_dataloader.dataset')
        ds_cfg = dict(ds_cfg, pipeline=[])
        dataset = build_in_scope(DATASETS, ds_cfg)
        labels = getattr(dataset, 'labels', None)
        if labels is None:
            raise TypeError(f'{type(dataset).__name__} exposes no labels '
                            'array; constant_reference needs one')
        return torch.as_tensor(labels)

    @torch.no_grad()
    def run_reference(self) -> Dict[str, float]:
        """Metrics of the head's constant prediction from the training
        labels (no hooks: this is not the model)."""
        head = getattr(self.module, 'head', None)
        if not isinstance(head, BaseEmotionHead):
            raise TypeError(f'{type(self.module).__name__} has no '
                            'BaseEmotionHead (self.head), whose '
                            'constant_logits constant_reference needs')
        logits = head.constant_logits(self.training_targets())
        for data_batch in self.dataloader:
            samples = split_data_samples(data_batch['data_samples'])
            preds = head.predict(logits.expand(len(samples),
                                               *logits.shape))
            for i, sample in enumerate(samples):
                sample.set_data({k: v[i] for k, v in preds.items()})
            self.evaluator.process(data_samples=samples,
                                   data_batch=data_batch)
        return self.evaluator.evaluate(len(self.dataloader.dataset))
