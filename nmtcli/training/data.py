"""Training data: encoded once into flat id arrays, then length-bucketed token-budget batches.

Each epoch's batch order is a pure function of (seed, epoch), so a resumed run sees exactly the
batches an uninterrupted run would have seen. Under DistributedDataParallel every rank computes
the same order and takes every world-th batch.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from nmtcli.batch import Batch, make_batch
from nmtcli.training.transforms import TransformRates, transformed_epoch
from nmtcli.vocab import Vocabulary

ENCODE_CHUNK = 10_000


@dataclass
class TokenStore:
    """Variable-length id sequences in one flat int32 tensor (compact for large corpora)."""

    ids: torch.Tensor  # (total,) int32
    offsets: torch.Tensor  # (n + 1,) int64

    @classmethod
    def from_lists(cls, sequences: Iterable[list[int]]) -> TokenStore:
        """Pack sequences."""
        flat, offsets = array("i"), array("q", [0])
        for sequence in sequences:
            flat.extend(sequence)
            offsets.append(len(flat))
        ids = (
            torch.frombuffer(flat, dtype=torch.int32) if flat else torch.zeros(0, dtype=torch.int32)
        )
        return cls(ids.clone(), torch.frombuffer(offsets, dtype=torch.int64).clone())

    def __len__(self) -> int:
        return self.offsets.numel() - 1

    @property
    def lengths(self) -> torch.Tensor:
        """(n,) sequence lengths."""
        return self.offsets[1:] - self.offsets[:-1]

    def get(self, index: int) -> torch.Tensor:
        """Sequence `index` as an int64 tensor."""
        return self.ids[self.offsets[index] : self.offsets[index + 1]].long()

    def joined(self, other: TokenStore) -> TokenStore:
        """These sequences followed by `other`'s."""
        offsets = torch.cat([self.offsets, other.offsets[1:] + self.offsets[-1]])
        return TokenStore(torch.cat([self.ids, other.ids]), offsets)

    def subset(self, indices: list[int]) -> TokenStore:
        """A new store holding `indices`, in that order."""
        return TokenStore.from_lists(self.get(i).tolist() for i in indices)


@dataclass
class ParallelData:
    """Encoded source and target sides (and the raw target text, kept for validation BLEU)."""

    src: TokenStore
    tgt: TokenStore
    src_text: list[str] | None = None
    tgt_text: list[str] | None = None

    def __len__(self) -> int:
        return len(self.src)

    def joined(self, other: ParallelData) -> ParallelData:
        """These pairs followed by `other`'s (texts kept only when both have them)."""
        texts = self.src_text is not None and other.src_text is not None
        return ParallelData(
            self.src.joined(other.src),
            self.tgt.joined(other.tgt),
            [*self.src_text, *other.src_text] if texts else None,  # type: ignore[misc]
            [*self.tgt_text, *other.tgt_text] if texts else None,  # type: ignore[misc]
        )

    def subset(self, indices: list[int], keep_text: bool) -> ParallelData:
        """The pairs at `indices`."""
        texts = keep_text and self.src_text is not None and self.tgt_text is not None
        return ParallelData(
            self.src.subset(indices),
            self.tgt.subset(indices),
            [self.src_text[i] for i in indices] if texts else None,  # type: ignore[index]
            [self.tgt_text[i] for i in indices] if texts else None,  # type: ignore[index]
        )


def encode_corpus(
    pairs: Iterator[tuple[str, str]], vocabulary: Vocabulary, keep_text: bool
) -> ParallelData:
    """Encode a stream of pairs in chunks (SentencePiece batches the work in C++)."""
    src_ids: list[list[int]] = []
    tgt_ids: list[list[int]] = []
    src_text: list[str] = []
    tgt_text: list[str] = []
    chunk: list[tuple[str, str]] = []

    def flush() -> None:
        src_ids.extend(vocabulary.src.encode_many([s for s, _ in chunk]))
        tgt_ids.extend(vocabulary.tgt.encode_many([t for _, t in chunk]))
        if keep_text:
            src_text.extend(s for s, _ in chunk)
            tgt_text.extend(t for _, t in chunk)
        chunk.clear()

    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == ENCODE_CHUNK:
            flush()
    flush()
    return ParallelData(
        TokenStore.from_lists(src_ids),
        TokenStore.from_lists(tgt_ids),
        src_text if keep_text else None,
        tgt_text if keep_text else None,
    )


def split_off_valid(size: int, wanted: int, seed: int) -> tuple[list[int], list[int]]:
    """Indices of (train, valid): `wanted` pairs held out (at most a tenth), fixed by `seed`."""
    count = max(1, min(wanted, size // 10))
    order = list(range(size))
    random.Random(seed).shuffle(order)
    return sorted(order[count:]), sorted(order[:count])


def padded_tokens(data: ParallelData) -> int:
    """Tokens of one epoch as batches count them: the longer side of each pair, plus one."""
    return int((torch.maximum(data.src.lengths, data.tgt.lengths) + 1).sum())


def within_length(data: ParallelData, max_length: int) -> list[int]:
    """Indices of pairs whose sides both have at most `max_length` pieces."""
    short = (data.src.lengths <= max_length) & (data.tgt.lengths <= max_length)
    return short.nonzero().flatten().tolist()


def make_batches(
    src_lengths: torch.Tensor, tgt_lengths: torch.Tensor, batch_tokens: int, rng: random.Random
) -> list[list[int]]:
    """Token-budget batches of similar lengths, in random order.

    Pairs are shuffled, stably sorted by (source, target) length so equal lengths stay shuffled,
    cut into batches whose padded size (sentences × longest side + 1) fits `batch_tokens`, and
    the batches are shuffled.
    """
    order = list(range(src_lengths.numel()))
    rng.shuffle(order)
    src, tgt = src_lengths.tolist(), tgt_lengths.tolist()
    order.sort(key=lambda i: (src[i], tgt[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = max(src[index], tgt[index]) + 1  # EOS on the source, BOS/EOS on the target
        if current and (len(current) + 1) * max(longest, length) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(index)
        longest = max(longest, length)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def epoch_batches(
    data: ParallelData, batch_tokens: int, seed: int, epoch: int, rank: int = 0, world: int = 1
) -> list[list[int]]:
    """This rank's batches for `epoch`: identical on every run with the same seed."""
    rng = random.Random(seed * 100_003 + epoch)
    batches = make_batches(data.src.lengths, data.tgt.lengths, batch_tokens, rng)
    usable = len(batches) - len(batches) % world if world > 1 else len(batches)
    return batches[rank:usable:world]


def collate(data: ParallelData, indices: list[int]) -> Batch:
    """A padded `Batch` of the pairs at `indices` (EOS on sources, BOS/EOS on targets)."""
    return make_batch([data.src.get(i) for i in indices], [data.tgt.get(i) for i in indices])


def sequential_batches(data: ParallelData, batch_tokens: int) -> list[list[int]]:
    """Length-sorted batches covering every pair once, for validation (no randomness)."""
    return make_batches(data.src.lengths, data.tgt.lengths, batch_tokens, random.Random(0))


def transformed(
    data: ParallelData,
    vocabulary: Vocabulary,
    rates: TransformRates,
    seed: int,
    epoch: int,
    max_length: int,
) -> ParallelData:
    """`data` as `epoch` sees it with the training-time transforms (`data` must keep its text).

    Only the pairs a transform changed are encoded again; variants longer than `max_length`
    pieces are left out, as the corpus's own long pairs are.
    """
    if data.src_text is None or data.tgt_text is None:
        raise ValueError("training-time transforms need the training text")
    pairs, origin = transformed_epoch(list(zip(data.src_text, data.tgt_text)), rates, seed, epoch)
    changed = [pair for pair, index in zip(pairs, origin) if index is None]
    new = encode_corpus(iter(changed), vocabulary, keep_text=False)
    src_ids: list[list[int]] = []
    tgt_ids: list[list[int]] = []
    fresh = 0
    for index in origin:
        if index is None:
            src, tgt = new.src.get(fresh), new.tgt.get(fresh)
            fresh += 1
            if src.numel() > max_length or tgt.numel() > max_length:
                continue
        else:
            src, tgt = data.src.get(index), data.tgt.get(index)
        src_ids.append(src.tolist())
        tgt_ids.append(tgt.tolist())
    return ParallelData(TokenStore.from_lists(src_ids), TokenStore.from_lists(tgt_ids))
