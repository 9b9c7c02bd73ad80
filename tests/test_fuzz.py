"""Fuzzing every reader: whatever the bytes, the answer is the data or an `NmtError`, never a crash.

Readers: text lines and TSV/paired corpora (plain and gzip, damaged gzip included), the sacreBLEU
hypothesis/reference reader, YAML configs, `config.json`, `vocab.json`, `metrics.jsonl` and
`evaluations.json` records, and `train_state.pt`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmtcli.corpus import CorpusSpec, SkipReport, read_lines, read_pairs
from nmtcli.errors import NmtError
from nmtcli.modeldir import ModelDir
from nmtcli.records import EvaluationRecord, ValidationRecord
from nmtcli.runconfig import RunConfig
from nmtcli.scoring import read_for_scoring
from nmtcli.training.options import load_yaml
from nmtcli.vocab import read_meta

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "en-fr"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.binary(max_size=200) | st.text(max_size=120).map(lambda t: t.encode("utf-8", "replace"))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)


def _file(data: bytes, name: str = "f") -> Path:
    directory = Path(tempfile.mkdtemp(prefix="nmtcli-fuzz-"))
    path = directory / name
    path.write_bytes(data)
    return path


def _gzipped(data: bytes, damage: list[int]) -> bytes:
    packed = bytearray(gzip.compress(data))
    for position in damage:
        packed[position % len(packed)] ^= 0xA5
    return bytes(packed)


def _survives(read) -> None:
    with contextlib.suppress(NmtError):
        read()


@FUZZ
@given(TEXT, st.lists(st.integers(0, 10_000), max_size=3), st.booleans())
def test_text_and_corpus_readers(data, damage, compressed):
    content = _gzipped(data, damage) if compressed else data
    path = str(_file(content, "corpus.tsv.gz" if compressed else "corpus.tsv"))
    _survives(lambda: list(read_lines(path)))
    _survives(lambda: list(read_pairs(CorpusSpec(tsv=path))))
    _survives(lambda: list(read_pairs(CorpusSpec(tsv=path), SkipReport())))
    _survives(lambda: list(read_pairs(CorpusSpec(src=path, tgt=path))))
    _survives(lambda: read_for_scoring(path, [path]))


@FUZZ
@given(TEXT)
def test_yaml_reader(data):
    _survives(lambda: load_yaml(_file(data, "config.yaml")))


def _config_text(value) -> bytes:
    return json.dumps(value).encode() if not isinstance(value, bytes) else value


@FUZZ
@given(JSON | TEXT)
def test_config_json_reader(value):
    model_dir = _file(_config_text(value), "config.json").parent
    _survives(lambda: ModelDir.load(model_dir).summary())
    if isinstance(value, dict):
        _survives(lambda: RunConfig.from_dict(value))


@FUZZ
@given(st.dictionaries(st.sampled_from(["format_version", "files", "model_type"]), JSON) | JSON)
def test_vocab_json_reader(value):
    _survives(lambda: read_meta(_file(json.dumps(value).encode(), "vocab.json").parent))


@FUZZ
@given(st.lists(JSON | TEXT, max_size=4), JSON | TEXT)
def test_record_readers(lines, evaluations):
    directory = _file(b"", "x").parent
    for name in ("config.json", "vocab.json", "joint.model"):
        (directory / name).write_bytes((SHIPPED / name).read_bytes())
    text = b"\n".join(_config_text(line) for line in lines)
    (directory / "metrics.jsonl").write_bytes(text)
    (directory / "evaluations.json").write_bytes(_config_text(evaluations))
    model_dir = ModelDir(directory)
    assert all(isinstance(r, ValidationRecord) for r in model_dir.metrics())
    assert all(isinstance(r, EvaluationRecord) for r in model_dir.evaluations())
    model_dir.summary()


@FUZZ
@given(TEXT)
def test_train_state_reader(data):
    model_dir = ModelDir(_file(data, "train_state.pt").parent)
    _survives(lambda: model_dir.load_train_state(torch.device("cpu")))
