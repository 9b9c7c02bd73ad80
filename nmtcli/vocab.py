"""SentencePiece vocabularies: training one (joint or per side), loading it, and its statistics.

Every vocabulary reserves the ids of `nmtcli.batch`:
`<pad>` = 0, `<s>` = 1, `</s>` = 2, `<unk>` = 3.

A vocabulary directory holds `vocab.json` (what kind, which files) and either `joint.model`
(one model for both sides, the default) or `src.model` and `tgt.model` (`--separate`), each with
a human-readable `.vocab` listing beside it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nmtcli.batch import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from nmtcli.corpus import CorpusSpec, SkipReport, read_pairs
from nmtcli.errors import VocabError
from nmtcli.io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    import sentencepiece

VOCAB_FORMAT_VERSION = 1
VOCAB_META = "vocab.json"
MODEL_TYPES = ("unigram", "bpe")
SIDES = ("src", "tgt")
SAMPLE_PAIRS = 10_000  # pairs kept in memory to compute the summary statistics
BYTE_FALLBACK_MIN_SIZE = 1000  # below this the 256 byte pieces would crowd out the words
Variants = Callable[[tuple[str, str]], list[tuple[str, str]]]
_TOO_HIGH = re.compile(r"Please set it to a value <= (\d+)")
_TOO_LOW = re.compile(r"smaller than required_chars\. (\d+) vs (\d+)")


@dataclass(frozen=True)
class VocabOptions:
    """How to train a vocabulary."""

    model_type: str = "unigram"
    vocab_size: int = 8000
    joint: bool = True
    character_coverage: float = 1.0
    max_sentences: int = 2_000_000  # SentencePiece samples this many sentences from larger corpora
    byte_fallback: bool = True  # a character without a piece becomes its UTF-8 bytes, not <unk>
    split_digits: bool = True  # every digit its own piece, so a model copies numbers digit by digit


class Tokenizer:
    """One side's SentencePiece model: text to pieces or ids and back."""

    def __init__(self, path: Path) -> None:
        import sentencepiece as spm

        self.path = path
        self.processor: sentencepiece.SentencePieceProcessor = spm.SentencePieceProcessor()
        try:
            self.processor.load(str(path))
        except (OSError, RuntimeError) as error:
            raise VocabError(f"{path}: not a readable SentencePiece model ({error})") from None
        self.size = self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (no BOS/EOS)."""
        return self.processor.encode(text)

    def is_whole_piece(self, word: str) -> bool:
        """Whether `word` (as a word of its own) is one piece: one the vocabulary knows whole."""
        return len(self.processor.encode(word)) == 1

    def encode_many(self, texts: list[str]) -> list[list[int]]:
        """Token ids of many texts at once (SentencePiece batches them in C++)."""
        return self.processor.encode(texts)

    def pieces(self, text: str) -> list[str]:
        """SentencePiece pieces of `text`."""
        return self.processor.encode(text, out_type=str)

    def decode(self, ids: Iterable[int]) -> str:
        """Text from token ids; special ids are dropped."""
        return self.processor.decode([i for i in ids if i >= UNK_ID])

    def decode_pieces(self, pieces: list[str]) -> str:
        """Text from pieces."""
        return self.processor.decode_pieces(pieces)

    def piece_ids(self, pieces: list[str]) -> list[int]:
        """The ids of pieces (an unknown piece is `<unk>`)."""
        return [self.processor.piece_to_id(piece) for piece in pieces]

    def id_to_piece(self, index: int) -> str:
        """The piece string of one id."""
        return self.processor.id_to_piece(index)


@dataclass
class Vocabulary:
    """The tokenizers of a translation direction; `src is tgt` when the vocabulary is joint."""

    src: Tokenizer
    tgt: Tokenizer
    joint: bool
    model_type: str

    @classmethod
    def load(cls, directory: Path) -> Vocabulary:
        """Load a vocabulary directory (or a model directory holding one)."""
        files, model_type = read_meta(directory)
        src = Tokenizer(directory / files["src"])
        tgt = src if files["tgt"] == files["src"] else Tokenizer(directory / files["tgt"])
        return cls(src=src, tgt=tgt, joint=src is tgt, model_type=model_type)

    def side(self, name: str) -> Tokenizer:
        """The tokenizer for side `src` or `tgt`."""
        if name not in ("src", "tgt"):
            raise VocabError(f"unknown side {name!r}: use src or tgt")
        return self.src if name == "src" else self.tgt

    def copy_to(self, directory: Path) -> None:
        """Copy the vocabulary's files into `directory` (for self-contained model directories)."""
        directory.mkdir(parents=True, exist_ok=True)
        for tokenizer in {id(self.src): self.src, id(self.tgt): self.tgt}.values():
            for suffix in (".model", ".vocab"):
                source = tokenizer.path.with_suffix(suffix)
                if source.is_file():
                    atomic_write_bytes(directory / source.name, source.read_bytes())
        meta = tokenizer_meta(self.src.path.name, self.tgt.path.name, self.model_type)
        atomic_write_text(directory / VOCAB_META, json.dumps(meta, indent=2) + "\n")


def read_meta(directory: Path) -> tuple[dict[str, str], str]:
    """The `files` (src/tgt model names, inside `directory`) and model type of `vocab.json`."""
    meta_path = directory / VOCAB_META
    if not meta_path.is_file():
        raise VocabError(f"{directory}: no {VOCAB_META}; not a vocabulary or model directory")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise VocabError(f"{meta_path}: malformed ({error})") from None
    if not isinstance(meta, dict):
        raise VocabError(f"{meta_path}: malformed (not a JSON object)")
    version, files = meta.get("format_version"), meta.get("files")
    if not isinstance(version, int) or isinstance(version, bool):
        raise VocabError(f"{meta_path}: malformed (format_version is {version!r})")
    if version > VOCAB_FORMAT_VERSION:
        raise VocabError(f"{meta_path}: format version {version} is newer than this nmtcli")
    if not isinstance(files, dict) or not all(isinstance(files.get(k), str) for k in SIDES):
        raise VocabError(f"{meta_path}: malformed ('files' must map src and tgt to file names)")
    for name in (files["src"], files["tgt"]):
        if Path(name).name != name or name in ("", ".", ".."):
            raise VocabError(f"{meta_path}: {name!r} is not a file name inside {directory}")
    return {side: files[side] for side in SIDES}, str(meta.get("model_type", "?"))


def vocabulary_files(directory: Path) -> list[str]:
    """The names of the vocabulary files in `directory` (vocab.json and each model's pair)."""
    files, _ = read_meta(directory)
    stems = {Path(name).stem for name in files.values()}
    return [VOCAB_META, *(f"{stem}{suffix}" for stem in stems for suffix in (".model", ".vocab"))]


def tokenizer_meta(src_file: str, tgt_file: str, model_type: str) -> dict:
    """The content of `vocab.json`."""
    return {
        "format_version": VOCAB_FORMAT_VERSION,
        "model_type": model_type,
        "files": {"src": src_file, "tgt": tgt_file},
        "special_ids": {"pad": PAD_ID, "bos": BOS_ID, "eos": EOS_ID, "unk": UNK_ID},
    }


@dataclass
class TrainedVocab:
    """What `train_vocab` produced: the vocabulary, a sample of pairs, and any size warnings."""

    vocabulary: Vocabulary
    sample: list[tuple[str, str]]
    pairs_read: int
    warnings: list[str]


def _spool_pairs(
    pairs: Iterator[tuple[str, str]], src_file: Path, tgt_file: Path, variants: Variants | None
) -> tuple[list[tuple[str, str]], int, int]:
    """Write each side to its own file (one pass, streamed); keep a sample for the summary.

    `variants` adds lines made from all the pairs (cased copies) for the vocabulary to learn.
    Returns the sample, the number of pairs, and how many of them hold a NUL character.
    """
    sample: list[tuple[str, str]] = []
    count = nuls = 0
    with (
        src_file.open("w", encoding="utf-8") as src_out,
        tgt_file.open("w", encoding="utf-8") as tgt_out,
    ):
        for count, (src, tgt) in enumerate(pairs, start=1):  # noqa: B007 - count read after
            nuls += "\0" in src or "\0" in tgt
            src_out.write(src + "\n")
            tgt_out.write(tgt + "\n")
            if len(sample) < SAMPLE_PAIRS:
                sample.append((src, tgt))
            if variants is not None:
                for variant_src, variant_tgt in variants((src, tgt)):
                    src_out.write(variant_src + "\n")
                    tgt_out.write(variant_tgt + "\n")
    return sample, count, nuls


def _train_one(inputs: list[Path], options: VocabOptions, name: str) -> tuple[bytes, list[str]]:
    """Train one SentencePiece model; shrink the size (with a warning) if the data is too small."""
    import sentencepiece as spm

    size, warnings = options.vocab_size, []
    for _ in range(3):
        buffer = _BytesSink()
        try:
            spm.SentencePieceTrainer.train(
                input=[str(p) for p in inputs],
                model_writer=buffer,
                model_type=options.model_type,
                vocab_size=size,
                character_coverage=options.character_coverage,
                input_sentence_size=options.max_sentences,
                shuffle_input_sentence=True,
                pad_id=PAD_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                unk_id=UNK_ID,
                byte_fallback=options.byte_fallback and size >= BYTE_FALLBACK_MIN_SIZE,
                split_digits=options.split_digits,
                num_threads=2,
                minloglevel=2,
            )
            return buffer.getvalue(), warnings
        except RuntimeError as error:
            size = _smaller_size(str(error), size, name)
            warnings.append(
                f"{name}: the corpus is too small for a vocabulary of {options.vocab_size}; "
                f"using the largest possible, {size}"
            )
    raise VocabError(f"{name}: SentencePiece could not train a vocabulary of any size")


def _smaller_size(message: str, size: int, name: str) -> int:
    """The size SentencePiece says is possible, or a clear `VocabError`."""
    too_low = _TOO_LOW.search(message)
    if too_low:
        raise VocabError(
            f"{name}: --vocab-size {size} is too small: the corpus's characters and the "
            f"reserved ids need {too_low.group(2)}; raise it or lower --character-coverage"
        )
    too_high = _TOO_HIGH.search(message)
    if too_high is None:
        first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
        raise VocabError(f"{name}: SentencePiece failed: {first_line}")
    return int(too_high.group(1))


class _BytesSink:
    """A minimal writable for SentencePiece's `model_writer`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Collect `data`."""
        self.parts.append(data)

    def getvalue(self) -> bytes:
        """Everything written."""
        return b"".join(self.parts)


def train_vocab(
    spec: CorpusSpec,
    out_dir: Path,
    options: VocabOptions,
    report: SkipReport | None = None,
    variants: Variants | None = None,
) -> TrainedVocab:
    """Train SentencePiece on a parallel corpus and write a vocabulary directory.

    Args:
        spec: the corpus (read once, streamed).
        out_dir: where to write `vocab.json` and the model files (created if needed).
        options: model type, size, joint or separate, character coverage.
        report: when given, invalid corpus lines are skipped and counted there.
        variants: extra pairs made from each pair (the training-time transforms' casing), to
            learn pieces for text the model will see but the corpus does not hold.

    Returns:
        The loaded vocabulary, a sample of pairs for statistics, and size warnings.
    """
    if options.model_type not in MODEL_TYPES:
        raise VocabError(f"unknown model type {options.model_type!r}: use unigram or bpe")
    if options.vocab_size < 8:
        raise VocabError(f"--vocab-size {options.vocab_size} is too small (at least 8)")
    with tempfile.TemporaryDirectory(prefix="nmtcli-vocab-") as tmp:
        src_file, tgt_file = Path(tmp, "src.txt"), Path(tmp, "tgt.txt")
        sample, count, nuls = _spool_pairs(read_pairs(spec, report), src_file, tgt_file, variants)
        jobs = (
            [("joint", "joint vocabulary", [src_file, tgt_file])]
            if options.joint
            else [
                ("src", "source vocabulary", [src_file]),
                ("tgt", "target vocabulary", [tgt_file]),
            ]
        )
        _make_directory(out_dir)
        warnings = [f"{nuls:,} pair(s) contain NUL characters, as binary or UTF-16 files do"]
        warnings = warnings if nuls else []
        for stem, label, inputs in jobs:
            model_bytes, job_warnings = _train_one(inputs, options, label)
            warnings += job_warnings
            _write_model(out_dir / f"{stem}.model", model_bytes)
    names = ("joint.model", "joint.model") if options.joint else ("src.model", "tgt.model")
    meta = tokenizer_meta(*names, options.model_type) | {"options": asdict(options)}
    atomic_write_text(out_dir / VOCAB_META, json.dumps(meta, indent=2) + "\n")
    return TrainedVocab(Vocabulary.load(out_dir), sample, count, warnings)


def _make_directory(path: Path) -> None:
    """Create an output directory, or say in one line why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise VocabError(f"{path}: cannot create the directory (a file is in the way)") from None
    except OSError as error:
        raise VocabError(f"{path}: cannot create the directory ({error.strerror})") from None


def _write_model(path: Path, model_bytes: bytes) -> None:
    """Write a SentencePiece model and its human-readable `.vocab` listing."""
    import sentencepiece as spm

    atomic_write_bytes(path, model_bytes)
    processor = spm.SentencePieceProcessor(model_proto=model_bytes)
    listing = "".join(
        f"{processor.id_to_piece(i)}\t{processor.get_score(i):.4f}\n"
        for i in range(processor.get_piece_size())
    )
    atomic_write_text(path.with_suffix(".vocab"), listing)


@dataclass(frozen=True)
class SideStats:
    """Summary of how one side's tokenizer covers a sample of text."""

    vocab_size: int
    sentences: int
    pieces_per_sentence: float
    character_coverage: float
    unknown_rate: float


def side_stats(tokenizer: Tokenizer, texts: list[str]) -> SideStats:
    """Pieces per sentence, share of characters covered, and share of pieces that are `<unk>`."""
    pieces = unknown = chars = unknown_chars = 0
    processor = tokenizer.processor
    for ids, strings in zip(processor.encode(texts), processor.encode(texts, out_type=str)):
        pieces += len(ids)
        for index, piece in zip(ids, strings):
            surface = len(piece.lstrip("\u2581"))  # an unknown piece keeps its surface text
            chars += surface
            if index == UNK_ID:
                unknown += 1
                unknown_chars += surface
    return SideStats(
        vocab_size=tokenizer.size,
        sentences=len(texts),
        pieces_per_sentence=pieces / max(len(texts), 1),
        character_coverage=1.0 - unknown_chars / max(chars, 1),
        unknown_rate=unknown / max(pieces, 1),
    )


def _parse_ids(text: str, size: int) -> list[int]:
    """Ids from a space-separated line; raises ValueError with the reason."""
    try:
        ids = [int(token) for token in text.split()]
    except ValueError:
        raise ValueError("expected space-separated integer ids") from None
    bad = next((i for i in ids if not 0 <= i < size), None)
    if bad is not None:
        raise ValueError(f"id {bad} is outside the vocabulary (0..{size - 1})")
    return ids


def line_converter(tokenizer: Tokenizer, ids: bool, decode: bool) -> Callable[[str], str]:
    """What `nmtcli tokenize` applies to each line: encode or decode, pieces or ids."""
    if decode and ids:
        return lambda line: tokenizer.decode(_parse_ids(line, tokenizer.size))
    if decode:
        return lambda line: tokenizer.decode_pieces(line.split())
    if ids:
        return lambda line: " ".join(map(str, tokenizer.encode(line)))
    return lambda line: " ".join(tokenizer.pieces(line))
