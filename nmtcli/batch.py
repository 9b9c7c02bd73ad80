"""The bottom layer every other layer shares: reserved token ids and padded batches.

Reserved ids are fixed for every vocabulary nmtcli trains, so models, search, training and
translation can rely on them: `<pad>` = 0, `<s>` (BOS) = 1, `</s>` (EOS) = 2, `<unk>` = 3.

Shapes: B batch, S source length, T target length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a tensor is made: `nmtcli tokenize` never needs it
    import torch
    from torch import Tensor

    Ids = Sequence[int] | Tensor  # one unpadded sequence of token ids

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
EOS_PIECE = "</s>"  # how EOS shows in heatmaps and piece lists


@dataclass
class Batch:
    """Padded source and target ids. Targets are optional (translation has none)."""

    src: Tensor  # (B, S) source ids ending in EOS, padded with PAD
    src_mask: Tensor  # (B, S) True on real tokens
    tgt_in: Tensor | None = None  # (B, T) BOS y_1 ... y_n, padded
    tgt_out: Tensor | None = None  # (B, T) y_1 ... y_n EOS, padded

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on `device`."""
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.src), move(self.src_mask), move(self.tgt_in), move(self.tgt_out))

    @property
    def size(self) -> int:
        """Number of sentences."""
        return self.src.size(0)

    @property
    def tgt_tokens(self) -> int:
        """Number of real target tokens (EOS included), as counted for throughput."""
        assert self.tgt_out is not None
        return int((self.tgt_out != PAD_ID).sum())


def _framed(sequences: Sequence[Ids], before: int | None, after: int | None) -> Tensor:
    """Right-pad sequences into one tensor, each framed by the optional `before`/`after` ids."""
    import torch

    extra = (before is not None) + (after is not None)
    width = max(len(s) for s in sequences) + extra
    out = torch.full((len(sequences), width), PAD_ID, dtype=torch.long)  # (B, W)
    start = 1 if before is not None else 0
    for row, sequence in enumerate(sequences):
        length = len(sequence)
        if before is not None:
            out[row, 0] = before
        out[row, start : start + length] = torch.as_tensor(sequence, dtype=torch.long)
        if after is not None:
            out[row, start + length] = after
    return out


def pad(sequences: Sequence[Ids]) -> Tensor:
    """Right-pad integer sequences into one (B, W) tensor."""
    return _framed(sequences, None, None)


def make_batch(src: Sequence[Ids], tgt: Sequence[Ids] | None = None) -> Batch:
    """A batch from unpadded token ids; EOS is appended to sources, BOS/EOS framed on targets."""
    src_ids = _framed(src, None, EOS_ID)  # (B, S)
    if tgt is None:
        return Batch(src_ids, src_ids != PAD_ID)
    tgt_in = _framed(tgt, BOS_ID, None)  # (B, T)
    tgt_out = _framed(tgt, None, EOS_ID)  # (B, T)
    return Batch(src_ids, src_ids != PAD_ID, tgt_in, tgt_out)
