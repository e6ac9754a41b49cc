"""What datasets and models share (mmpretrain's ``structures``): the
batched data sample, lengths as data ``(B, M)``, the token layout and the
masker family. Imports nothing from datasets or models."""
from .data_samples import batch_data_samples, num_samples, split_data_samples
from .lengths import (column, left_align, seq_len_of, valid_mask,
                      zero_padding_spans)

__all__ = ['batch_data_samples', 'column', 'left_align', 'num_samples',
           'seq_len_of', 'split_data_samples', 'valid_mask',
           'zero_padding_spans']
