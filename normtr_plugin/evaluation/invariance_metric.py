"""Is the noise-aware scheme doing its job? Invariance of the NRGFs on a
validation or test split (issue 12; paper section 3.5 and Fig. 9)."""
from typing import Any, Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from ..registry import METRICS
from .functional import to_numpy

ACCURACIES = (('d1_nrgf_acc', 'd1_nrgf_correct'),
              ('d1_mf_acc', 'd1_mf_correct'), ('d2_acc', 'd2_correct'))
COSINES = ('cos_within_nrgf', 'cos_nrgf_mf')


@METRICS.register_module()
class InvarianceMetric(BaseMetric):
    """Aggregates the per-sample ``invariance`` statistics that
    :meth:`NormTR.predict <normtr_plugin.models.NormTR.predict>` attaches
    (:mod:`normtr_plugin.models.invariance`). Keys, prefixed
    ``invariance/``:

    - ``d1_nrgf_acc``, ``d1_mf_acc``: D1's accuracy (%) over every
      (sample, modality) chunk of the NRGFs (through D1's explainer) and of
      the MFs; ``d1_chance`` = 100 / M. The scheme wants the first near
      chance (modality-invariant NRGFs, Eq. 6) and the second high.
    - ``d2_acc``: D2's accuracy (%) on an erased copy of the split (the
      model's ErasureNoise with a fixed seed, see ``eval_invariance``);
      ``d2_majority``: the accuracy (%) of always answering D2's majority
      label, D2's chance level. The scheme wants ``d2_acc`` near it (Eq. 7).
    - ``cos_within_nrgf``, ``cos_nrgf_mf``: the mean over samples of the
      per-sample mean cosine similarity between the NRGFs of different
      modalities, and between NRGF and MF (Fig. 9: near 1 and near 0).

    The model computes the statistics only when asked: listing this metric
    in ``val_evaluator``/``test_evaluator`` asks (``InvarianceRequestHook``
    in ``default_hooks`` sets ``model.compute_invariance`` for that run).
    Keys whose statistic the model does not produce (e.g. no D2) are left
    out. A model that attaches no statistics at all (no NRGF extractor,
    ``eval_invariance=None`` or no ``InvarianceRequestHook``) gives an
    empty result and a warning.
    """
    default_prefix = 'invariance'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            stats = sample.get('invariance')
            self.results.append(None if stats is None else {
                k: to_numpy(v).astype(np.float64).reshape(-1)
                for k, v in stats.items()})

    def compute_metrics(self, results: List) -> Dict[str, float]:
        results = [r for r in results if r]
        if not results:
            print_log('InvarianceMetric: the model attached no invariance '
                      'statistics (no NRGF extractor, eval_invariance='
                      'None, or no InvarianceRequestHook in default_hooks); '
                      'nothing to report', logger='current',
                      level=30)
            return {}
        out = {}
        keys = set(results[0])
        for name, key in ACCURACIES:
            if key in keys:
                hits = np.concatenate([r[key] for r in results])
                out[name] = 100.0 * float(hits.mean())
        if 'd1_nrgf_correct' in keys:
            out['d1_chance'] = 100.0 / results[0]['d1_nrgf_correct'].size
        if 'd2_noisy' in keys:
            rate = float(np.concatenate([r['d2_noisy']
                                         for r in results]).mean())
            out['d2_majority'] = 100.0 * max(rate, 1.0 - rate)
        for key in COSINES:
            if key in keys:
                values = np.concatenate([r[key] for r in results])
                values = values[np.isfinite(values)]
                out[key] = float(values.mean()) if values.size else \
                    float('nan')
        return out
