"""The batched data sample (issue 10) and the per-sample list form."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from normtr_plugin.structures import batch_data_samples, \
    split_data_samples

MODS = ['audio', 'video', 'text']


def samples(lengths=True):
    out = []
    for i in range(3):
        s = BaseDataElement(gt_label=torch.tensor([i, 1 - i % 2]),
                            metainfo=dict(id=f's{i}'))
        if lengths:
            s.lengths = torch.tensor([10 + i, 20 + i, i + 1])
        out.append(s)
    return out


def test_batch_stacks_labels_lengths_in_model_order_and_ids():
    ds = batch_data_samples(samples(), MODS)
    assert ds.metainfo == dict(ids=['s0', 's1', 's2'])
    assert ds.gt_label.shape == (3, 2)
    assert ds.lengths.dtype == torch.long
    assert ds.lengths.tolist() == [[10, 20, 1], [11, 21, 2], [12, 22, 3]]
    tensors = [BaseDataElement(lengths=torch.tensor([5, 6, 7]))] * 2
    assert batch_data_samples(tensors).lengths.shape == (2, 3)
    assert 'lengths' not in batch_data_samples(samples(lengths=False))


def test_split_inverts_batch_and_lists_pass_through():
    ds = batch_data_samples(samples(), MODS)
    parts = split_data_samples(ds)
    assert [p.metainfo['id'] for p in parts] == ['s0', 's1', 's2']
    assert parts[1].gt_label.tolist() == [1, 0]
    assert parts[2].lengths.tolist() == [12, 22, 3]
    again = batch_data_samples(parts)
    assert torch.equal(again.gt_label, ds.gt_label)
    assert torch.equal(again.lengths, ds.lengths)
    listed = samples()
    assert split_data_samples(listed) == listed
    bare = split_data_samples(BaseDataElement(gt_label=torch.zeros(4)))
    assert len(bare) == 4 and bare[0].metainfo['id'] is None


def test_errors_name_the_problem():
    mixed = samples()
    del mixed[1].gt_label
    with pytest.raises(ValueError, match=r'gt_label .* missing in samples '
                       r'\[1\]'):
        batch_data_samples(mixed)
    with pytest.raises(ValueError, match=r"lengths must be \(M,\), one entry "
                       r"per modality \['audio', 'text'\], found shape "
                       r'\(3,\)'):
        batch_data_samples([BaseDataElement(lengths=torch.ones(3))],
                           ['audio', 'text'])
    with pytest.raises(ValueError, match=r'found shape \(1, 3\)'):
        batch_data_samples([BaseDataElement(lengths=torch.ones(1, 3))])
    with pytest.raises(ValueError, match='at least one sample'):
        batch_data_samples([])
