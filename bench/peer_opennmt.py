"""Peer comparison: nmtcli against OpenNMT-py 3.5.1 on Multi30k En→De, side by side.

Usage: python -m bench.peer_opennmt [--budget SECONDS] [--quick] [--models rnn,transformer]
           [--markdown FILE] [--threads N] [--cpus LIST] [--transformer-optim usual|matched]
           [--reuse] [--nmtcli-precision fp32|bf16]

Both tools run on this machine, one after the other, on the same data (Multi30k train, the same
joint 8k SentencePiece unigram model from `bench.common.multi30k_vocab()`), with same-size models
(an LSTM with Luong `general` attention and input feeding; a 3+3-layer d_model-256 Transformer),
the same wall-clock training budget (default 600 s, `--quick` 60 s) and the same number of CPU
threads (torch's default unless `--threads N`, which sets OMP_NUM_THREADS and MKL_NUM_THREADS for
every command of both tools; `--cpus 0` runs every command under `taskset -c 0`). Each model
then translates test_2016_flickr (1,000 sentences) greedily and with beam 5; outputs are scored
with sacreBLEU against the raw German references.

OpenNMT-py is installed on first use in its own virtualenv, `.bench/peer/onmt-venv` (the local
CPU build of torch 2.13.0 first, then OpenNMT-py without dependencies, then by hand only what
its three commands import). Everything generated (data, models, logs, results) lives under
`.bench/peer/`, which git ignores. `bench/peer/onmt_launch.py` runs onmt_train/onmt_translate
with the few in-process patches this needs (a wall-clock budget for training, `torch.load`
weights_only=False for torch >= 2.6, stand-ins for spacy/fasttext): see its docstring.

How training time is counted (the budget) and how target tokens/s are measured:
- nmtcli: `--max-time BUDGET`; the clock starts when the trainer is built (corpus read and
  encoded, model built) and the limit is checked after each update. Validation is put off
  until after the budget (`--valid-every` larger than any run), on 200 validation pairs and
  with 1 BLEU sentence, so that almost nothing but training runs inside the budget and the
  final (= best) weights are the ones translated, as with OpenNMT.
  tok/s: `tokens_per_second` of the model directory's metrics.jsonl (trained target tokens,
  EOS included, divided by the time from the start of training to the end of that final
  validation and save, so slightly low), and, training loop only, the last plain progress line
  (the same count divided by the time up to that update).
- OpenNMT-py: onmt_launch.py stops the training loop after BUDGET seconds counted from the
  first batch (corpus already read and bucketed), checking after each update; OpenNMT then saves
  its final checkpoint. tok/s: the tgt figure of OpenNMT's own `Step ...; A/B tok/s; N sec`
  log lines, averaged over the run (each window's rate times its duration), and, training loop
  only, the totals of OpenNMT's Statistics (non-padding target tokens, EOS included) divided by
  the loop's seconds, written by onmt_launch.py.
Both count target tokens the same way: non-padding target positions of the loss, i.e.
SentencePiece pieces plus EOS.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path

from bench.common import MULTI30K, REPO, WORK, machine, multi30k_vocab, nmtcli, read_metrics, table

PEER = WORK / "peer"
VENV = PEER / "onmt-venv"
ONMT_PY = VENV / "bin" / "python"
LAUNCHER = REPO / "bench" / "peer" / "onmt_launch.py"
DATA = PEER / "data"

ONMT_VERSION = "3.5.1"
TORCH_VERSION = "2.13.0"
# What onmt_train / onmt_build_vocab / onmt_translate of OpenNMT-py 3.5.1 import, found by running
# them (-h, then real runs) in a venv holding only torch and OpenNMT-py (--no-deps), adding one
# package per ImportError: pyonmttok (onmt.inputters), numpy (onmt.utils.misc), configargparse and
# pyyaml (options and config files), regex (transforms normalize/clean), rapidfuzz (transform
# fuzzymatch), pyahocorasick (transforms terminology/inlinetags), sacrebleu (onmt.scorers, imported
# by the trainer). Not installed: tensorboard (only with -tensorboard), flask/waitress
# (onmt_server), ctranslate2 (onmt_release_model), sentencepiece/six (unused here: the harness
# feeds pieces), and spacy/fasttext (imported at the top of the terminology/clean transforms,
# which are never enabled; onmt_launch.py registers stand-ins: spacy alone is ~100 MB with its
# dependencies). Pinned to the versions this harness was validated with.
ONMT_DEPS = [
    "ConfigArgParse==1.9.0",
    "PyYAML==6.0.4",
    "pyonmttok==1.38.1",
    "numpy==2.4.6",
    "regex==2026.11.19",
    "RapidFuzz==3.14.6",
    "pyahocorasick==2.3.1",
    "sacrebleu==2.6.0",
]

VALID_PAIRS = 200  # validation pairs given to nmtcli (its single validation runs after the budget)
RNN_SENTENCES = 64  # OpenNMT RNN batch: 64 sentences; nmtcli gets the token budget matching it
TRANSFORMER_TOKENS = 4096  # both tools' usual Transformer batch: 4096 padded tokens
LOG_EVERY = 5.0  # seconds between nmtcli's plain progress lines
ONMT_REPORT_EVERY = 5  # updates between OpenNMT-py's `Step ...; tok/s` log lines
COMMANDS: list[str] = []  # every command run, in order, for the report


# -- running and measuring commands ------------------------------------------------------------


@dataclass
class Measured:
    """One command: wall time, peak resident memory of its process tree, exit code."""

    seconds: float
    peak_mb: float
    returncode: int


def run(
    command: list[str],
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    stderr: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    note: str = "",
) -> Measured:
    """Run `command` once; wall time and peak RSS (ru_maxrss of the child and what it waited for).

    The child is reaped with os.wait4 in a thread, so the wall time is exact (no polling) and the
    peak memory is that of the command alone. Past `timeout` seconds it is killed.
    """
    shown = " ".join(f"{key}={value}" for key, value in (env or {}).items())
    shown = (shown + " " if shown else "") + shlex.join(command)
    shown += f" < {stdin}" if stdin else ""
    shown += f" > {stdout}" if stdout else ""
    COMMANDS.append(shown + (f"    # {note}" if note else ""))
    stdin_handle = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    err = open(stderr, "wb") if stderr else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=stdin_handle, stdout=out, stderr=err, env={**os.environ, **(env or {})}
        )
        reaped: list[tuple[int, int, os.struct_rusage]] = []
        waiter = threading.Thread(target=lambda: reaped.append(os.wait4(process.pid, 0)))
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            process.kill()
            waiter.join()
        seconds = time.perf_counter() - start
    finally:
        for handle in (stdin_handle, out, err):
            if not isinstance(handle, int):
                handle.close()
    _, status, usage = reaped[0]
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code  # reaped here, not by Popen
    if check and code != 0:
        tail = Path(stderr).read_text(errors="replace")[-3000:] if stderr else ""
        raise RuntimeError(f"command failed (exit {code}): {shown}\n{tail}")
    return Measured(seconds, usage.ru_maxrss / 1024, code)


@dataclass
class Runtime:
    """How every measured command is run: CPU pinning and thread count, the same for both."""

    cpus: str | None
    threads: int | None

    def wrap(self, command: list[str]) -> list[str]:
        """`command` under taskset when --cpus is given."""
        return ["taskset", "-c", self.cpus, *command] if self.cpus else command

    def env(self) -> dict[str, str]:
        """OMP/MKL thread counts when --threads is given (else torch's default for both)."""
        if self.threads is None:
            return {}
        return {"OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}


# -- OpenNMT-py installation -------------------------------------------------------------------


def _venv_versions() -> dict[str, str] | None:
    """Installed versions of torch, OpenNMT-py and the dependencies in the OpenNMT venv."""
    if not ONMT_PY.is_file():
        return None
    names = ["torch", "OpenNMT-py"] + [spec.split("==")[0] for spec in ONMT_DEPS]
    script = (
        "import json, sys\nfrom importlib.metadata import version, PackageNotFoundError\n"
        "out = {}\nfor name in sys.argv[1:]:\n"
        "    try: out[name] = version(name)\n"
        "    except PackageNotFoundError: pass\nprint(json.dumps(out))\n"
    )
    done = subprocess.run([str(ONMT_PY), "-c", script, *names], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else None


def _installed_ok(versions: dict[str, str] | None) -> bool:
    """Whether the venv already holds exactly what the benchmark needs."""
    if not versions:
        return False
    wanted = {spec.split("==")[0]: spec.split("==")[1] for spec in ONMT_DEPS}
    wanted["OpenNMT-py"] = ONMT_VERSION
    return versions.get("torch", "").split("+")[0] == TORCH_VERSION and all(
        versions.get(name) == want for name, want in wanted.items()
    )


def _local_torch_wheel() -> str | None:
    """The CPU wheel of torch 2.13.0 for this Python in pip's find-links folders, if any."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    folders = {"/opt/wheels"}
    folders.update(os.environ.get("PIP_FIND_LINKS", "").split())
    for folder in sorted(folders):
        found = sorted(glob.glob(f"{folder}/torch-{TORCH_VERSION}+cpu-{tag}-*.whl"))
        if found:
            return found[0]
    return None


def ensure_onmt() -> str:
    """Install OpenNMT-py in its own venv unless already there; return a one-line summary."""
    versions = _venv_versions()
    if _installed_ok(versions):
        return _summary(versions)
    print(f"installing OpenNMT-py {ONMT_VERSION} in {VENV} ...", flush=True)
    PEER.mkdir(parents=True, exist_ok=True)
    log = PEER / "install.log"
    pip = [str(ONMT_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not ONMT_PY.is_file():
        run([sys.executable, "-m", "venv", str(VENV)], stderr=log, note="OpenNMT venv")
    # 1. torch first, the local CPU wheel (a plain `torch` requirement would pull a CUDA build)
    wheel = _local_torch_wheel()
    run([*pip, wheel or f"torch=={TORCH_VERSION}"], stderr=log, timeout=3600)
    torch_version = _venv_versions() or {}
    if torch_version.get("torch", "").split("+")[0] != TORCH_VERSION:
        raise RuntimeError(f"torch {TORCH_VERSION} did not install in {VENV}; see {log}")
    # 2. OpenNMT-py itself, without its requirements (it pins torch<2.3, spacy, tensorboard, ...)
    run([*pip, "--no-deps", f"OpenNMT-py=={ONMT_VERSION}"], stderr=log, timeout=3600)
    # 3. what it imports, with torch pinned to the installed build so pip never fetches another
    constraint = PEER / "onmt-constraints.txt"
    constraint.write_text(f"torch=={torch_version['torch']}\n")
    run([*pip, "-c", str(constraint), *ONMT_DEPS], stderr=log, timeout=3600)
    versions = _venv_versions()
    if not _installed_ok(versions):
        raise RuntimeError(f"OpenNMT venv incomplete after installing: {versions}; see {log}")
    return _summary(versions)


def _summary(versions: dict[str, str] | None) -> str:
    """`OpenNMT-py 3.5.1, torch 2.13.0+cpu; deps: ...`."""
    versions = versions or {}
    deps = ", ".join(
        f"{name} {value}" for name, value in versions.items() if name not in ("torch", "OpenNMT-py")
    )
    return f"OpenNMT-py {versions.get('OpenNMT-py')}, torch {versions.get('torch')}; deps: {deps}"


# -- data --------------------------------------------------------------------------------------


@dataclass
class Data:
    """Paths of the prepared data and the nmtcli batch size matching 64-sentence batches."""

    vocab: Path
    train_src: Path  # raw gz, for nmtcli
    train_tgt: Path
    valid_src: Path  # first VALID_PAIRS of val, for nmtcli
    valid_tgt: Path
    test_src: Path  # raw test_2016_flickr.en
    test_ref: Path  # raw test_2016_flickr.de
    train_src_sp: Path  # pieces, for OpenNMT
    train_tgt_sp: Path
    test_src_sp: Path
    onmt_vocab: Path
    train_pairs: int
    rnn_batch_tokens: int
    rnn_batches_per_epoch: int
    rnn_onmt_batches_per_epoch: int
    transformer_batches_per_epoch: int


def _read_gz(path: Path) -> list[str]:
    """Lines of a gzip text file, without line ends."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle]


def _write_lines(path: Path, lines: list[str]) -> None:
    """Write lines atomically."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    temp.replace(path)


def prepare_data(vocab: Path) -> Data:
    """Raw test/valid files, piece files and the OpenNMT vocabulary, from the same SP model."""
    import sentencepiece as spm

    DATA.mkdir(parents=True, exist_ok=True)
    model = vocab / "joint.model"
    stamp = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    paths = {
        name: DATA / name
        for name in (
            "val.en",
            "val.de",
            "test.en",
            "test.de",
            "train.en.sp",
            "train.de.sp",
            "test.en.sp",
            "onmt-vocab.txt",
        )
    }
    train_en, train_de = _read_gz(MULTI30K / "train.en.gz"), _read_gz(MULTI30K / "train.de.gz")
    stamp_file = DATA / "stamp"
    fresh = stamp_file.is_file() and stamp_file.read_text() == stamp
    if not fresh or not all(path.is_file() for path in paths.values()):
        val_en, val_de = _read_gz(MULTI30K / "val.en.gz"), _read_gz(MULTI30K / "val.de.gz")
        _write_lines(paths["val.en"], val_en[:VALID_PAIRS])
        _write_lines(paths["val.de"], val_de[:VALID_PAIRS])
        test_en = _read_gz(MULTI30K / "test_2016_flickr.en.gz")
        _write_lines(paths["test.en"], test_en)
        _write_lines(paths["test.de"], _read_gz(MULTI30K / "test_2016_flickr.de.gz"))
        for name, lines in (("train.en.sp", train_en), ("train.de.sp", train_de)):
            _write_lines(paths[name], [" ".join(p) for p in sp.encode(lines, out_type=str)])
        _write_lines(paths["test.en.sp"], [" ".join(p) for p in sp.encode(test_en, out_type=str)])
        # OpenNMT vocabulary: every piece of the SentencePiece model except nmtcli's reserved
        # <pad> <s> </s> <unk> (ids 0-3), in id order; OpenNMT adds its own <unk> <blank> <s>
        # </s>, so both tools have 8,000 embeddings/outputs and the same 7,996 pieces.
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        _write_lines(
            paths["onmt-vocab.txt"],
            [
                p
                for p in pieces
                if not sp.is_control(sp.piece_to_id(p)) and not sp.is_unknown(sp.piece_to_id(p))
            ],
        )
        stamp_file.write_text(stamp)
    # Batch sizes: OpenNMT's RNN batch is 64 sentences; nmtcli's is a budget of padded tokens
    # (sentences x (longest side + 1)). Pick the smallest budget with no more batches per epoch
    # than OpenNMT's ceil(29000 / 64), with nmtcli's own batching code on the encoded corpus.
    import torch

    from nmtcli.training.data import make_batches

    src_ids, tgt_ids = sp.encode(train_en), sp.encode(train_de)
    keep = [i for i in range(len(src_ids)) if max(len(src_ids[i]), len(tgt_ids[i])) <= 128]
    src_len = torch.tensor([len(src_ids[i]) for i in keep])
    tgt_len = torch.tensor([len(tgt_ids[i]) for i in keep])

    def batches(tokens: int) -> int:
        return len(make_batches(src_len, tgt_len, tokens, random.Random(1)))

    onmt_batches = math.ceil(len(keep) / RNN_SENTENCES)
    low, high = 64, 16384
    while low < high:
        middle = (low + high) // 2
        if batches(middle) <= onmt_batches:
            high = middle
        else:
            low = middle + 1
    return Data(
        vocab=vocab,
        train_src=MULTI30K / "train.en.gz",
        train_tgt=MULTI30K / "train.de.gz",
        valid_src=paths["val.en"],
        valid_tgt=paths["val.de"],
        test_src=paths["test.en"],
        test_ref=paths["test.de"],
        train_src_sp=paths["train.en.sp"],
        train_tgt_sp=paths["train.de.sp"],
        test_src_sp=paths["test.en.sp"],
        onmt_vocab=paths["onmt-vocab.txt"],
        train_pairs=len(train_en),
        rnn_batch_tokens=low,
        rnn_batches_per_epoch=batches(low),
        rnn_onmt_batches_per_epoch=onmt_batches,
        transformer_batches_per_epoch=batches(TRANSFORMER_TOKENS),
    )


# -- model settings ------------------------------------------------------------------------------


def nmtcli_train_args(model: str, data: Data, budget: float) -> list[str]:
    """nmtcli train options for `model`."""
    common = [
        "--label-smoothing",
        "0.1",
        "--clip-norm",
        "1.0",
        "--max-time",
        f"{budget:g}",
        "--max-epochs",
        "1000",
        "--valid-every",
        "100000000",
        "--valid-bleu-sentences",
        "1",
        "--patience",
        "0",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--precision",
        "fp32",
        "--log-every",
        f"{LOG_EVERY:g}",
    ]
    if model == "rnn":
        return [
            *("--arch", "rnn", "--cell", "lstm", "--attention", "general", "--layers", "1"),
            *("--emb-size", "256", "--hidden-size", "256", "--bidirectional"),
            *("--input-feeding", "--dropout", "0.2", "--lr", "1e-3", "--scheduler", "constant"),
            *("--batch-tokens", str(data.rnn_batch_tokens)),
            *common,
        ]
    return [
        *("--arch", "transformer", "--layers", "3", "--d-model", "256", "--heads", "4"),
        *("--ff-size", "1024", "--dropout", "0.1", "--tie-embeddings"),
        *("--lr", "7e-4", "--scheduler", "inverse_sqrt", "--warmup", "1000"),
        *("--batch-tokens", str(TRANSFORMER_TOKENS)),
        *common,
    ]


def onmt_config(model: str, data: Data, directory: Path, optim: str) -> dict:
    """The onmt_train YAML configuration for `model`."""
    config: dict = {
        "data": {
            "corpus_1": {"path_src": str(data.train_src_sp), "path_tgt": str(data.train_tgt_sp)}
        },
        "src_vocab": str(data.onmt_vocab),
        "tgt_vocab": str(data.onmt_vocab),
        "share_vocab": True,
        "src_vocab_size": 8000,
        "tgt_vocab_size": 8000,
        "save_model": str(directory / "model"),
        "save_checkpoint_steps": 0,  # only the final checkpoint, written after the budget
        "train_steps": 100_000_000,  # never reached: onmt_launch.py stops at the budget
        "report_every": ONMT_REPORT_EVERY,
        "seed": 1,
        "world_size": 1,
        "model_dtype": "fp32",
        "num_workers": 0,  # batches built in the training process, as nmtcli does
        # one epoch per bucket, as nmtcli batches each epoch: sort, cut, shuffle (the default
        # bucket of 262,144 examples would hold 9 copies of Multi30k and read them all first)
        "bucket_size": data.train_pairs,
        "label_smoothing": 0.1,
        "normalization": "tokens",
        "accum_count": [1],
        "optim": "adam",
        "adam_beta1": 0.9,
    }
    if model == "rnn":
        config.update(
            {
                "encoder_type": "brnn",
                "decoder_type": "rnn",
                "rnn_type": "LSTM",
                "layers": 1,
                "hidden_size": 256,
                "word_vec_size": 256,
                "global_attention": "general",
                "input_feed": 1,
                "bridge": False,
                "dropout": [0.2],
                "learning_rate": 1e-3,
                "decay_method": "none",
                "adam_beta2": 0.98,
                "max_grad_norm": 1.0,
                "batch_type": "sents",
                "batch_size": RNN_SENTENCES,
            }
        )
        return config
    config.update(
        {
            "encoder_type": "transformer",
            "decoder_type": "transformer",
            "layers": 3,
            "hidden_size": 256,
            "word_vec_size": 256,
            "heads": 4,
            "transformer_ff": 1024,
            "dropout": [0.1],
            "attention_dropout": [0.1],
            "position_encoding": True,
            "add_qkvbias": True,  # nmtcli's attention projections have biases
            "add_ffnbias": True,  # and so do its feed-forward layers
            "share_embeddings": True,  # nmtcli ties source, target and output embeddings
            "share_decoder_embeddings": True,
            "param_init": 0,
            "param_init_glorot": True,
            "decay_method": "noam",
            "batch_type": "tokens",
            "batch_size": TRANSFORMER_TOKENS,
        }
    )
    if optim == "usual":  # OpenNMT-py's documented Transformer recipe
        config.update(
            {"learning_rate": 2.0, "warmup_steps": 8000, "adam_beta2": 0.998, "max_grad_norm": 0}
        )
    else:  # nmtcli's schedule: noam with factor f peaks at f / sqrt(256 * 1000) = 7e-4
        config.update(
            {
                "learning_rate": round(7e-4 * math.sqrt(256 * 1000), 6),
                "warmup_steps": 1000,
                "adam_beta2": 0.98,
                "max_grad_norm": 1.0,
            }
        )
    return config


def differences(model: str, data: Data, optim: str) -> list[str]:
    """Every known hyper-parameter or procedure difference between the two tools."""
    both = [
        "Adam ε: nmtcli 1e-9, OpenNMT-py 1e-8 (hard-coded in each).",
        "Loss normalisation: both per target token; OpenNMT-py's token count for the "
        "normalisation leaves out EOS, nmtcli's includes it.",
        "Batching: both sort the whole corpus by length, cut batches and shuffle them each epoch "
        "(different random orders); OpenNMT-py also drops a repeated source sentence within one "
        "batch. nmtcli skips pairs longer than 128 pieces (none in Multi30k train at this "
        "vocabulary, or almost none); OpenNMT-py filters nothing without its filtertoolong "
        "transform.",
        "Epochs: OpenNMT-py's `bucket_size` is set to the corpus size (29,000), so that, like "
        "nmtcli, it reads, sorts, batches and shuffles one epoch at a time; its default "
        "(262,144 examples) would hold 9 copies of the corpus in one bucket.",
        "Decoding: both batch 64 sentences; length penalty GNMT α=1 in both (nmtcli's default; "
        "OpenNMT-py `-length_penalty wu -alpha 1.0`, its default is `avg`), but nmtcli applies it "
        "to finished hypotheses while OpenNMT-py applies it to the beam scores at every step. "
        "Maximum output length: nmtcli min(256, ⌊2 × source pieces⌋ + 10) for each sentence; "
        "OpenNMT-py min(256, 2 × the longest source in the batch + 5) for the whole batch "
        "(`-max_length 256 -max_length_ratio 2`; its default ratio is 1.25).",
        "Threads: the same OMP/MKL setting for both (torch's default unless --threads); "
        "OpenNMT-py's data-loader workers are turned off (`num_workers 0`, its default is 2 "
        "extra processes) so that both build batches in the training process.",
        "Validation: neither validates inside the budget; nmtcli validates once after it "
        f"(on {VALID_PAIRS} val pairs, required for its model directory), OpenNMT-py not at all.",
        "Checkpoint: each tool's final weights after the budget (nmtcli: model.safetensors, "
        "which after a single validation is the last; OpenNMT-py: its last `_step_N.pt`).",
    ]
    if model == "rnn":
        return [
            f"Batch size: OpenNMT-py 64 sentences (`batch_type sents`, "
            f"{data.rnn_onmt_batches_per_epoch} batches/epoch); nmtcli counts padded tokens "
            f"(sentences × (longer side + 1)), so it gets `--batch-tokens "
            f"{data.rnn_batch_tokens}`, the smallest budget giving no more batches per epoch "
            f"({data.rnn_batches_per_epoch}) than OpenNMT-py: the same mean of ~64 sentences "
            "per update, but more sentences in batches of short ones and fewer in long ones.",
            "Adam β2 0.98 in both (nmtcli's fixed betas; OpenNMT-py's default is 0.999, set to "
            "0.98); learning rate 1e-3 constant in both (nmtcli `--scheduler constant`, the "
            "plateau halving of its default would never trigger without validations; OpenNMT-py "
            "`decay_method none`, its step decay would only start at step 50,000).",
            "Gradient-norm clipping 1.0 in both (OpenNMT-py's default is 5).",
            "Label smoothing 0.1 in both (OpenNMT-py's default is 0).",
            "Dropout 0.2 in both (nmtcli's default; OpenNMT-py's is 0.3), on embeddings and "
            "before the output layer in both.",
            "Initialisation: nmtcli PyTorch defaults; OpenNMT-py uniform ±0.1 (`param_init`).",
            "Encoder final states: both concatenate the two directions' final states into the "
            "decoder's initial state, no bridge layer.",
            *both,
        ]
    if optim == "usual":
        schedule = (
            "Optimiser: each tool's usual Transformer settings. nmtcli: Adam β=(0.9, 0.98), "
            "linear warm-up over 1,000 steps to 7e-4 then inverse square root, clip 1.0. "
            "OpenNMT-py (its documented recipe): Adam β=(0.9, 0.998), noam with learning_rate 2 "
            "and 8,000 warm-up steps (peak 1.4e-3 at step 8,000 for d_model 256), no clipping. "
            "In a short budget OpenNMT-py is still early in warm-up (lr ≈ 1.4e-3 × step/8000): "
            "run with --transformer-optim matched to compare the tools rather than the recipes."
        )
    else:
        schedule = (
            "Optimiser (--transformer-optim matched): the same curve in both. nmtcli: linear "
            "warm-up over 1,000 steps to 7e-4 then inverse square root; OpenNMT-py: noam, "
            "warmup_steps 1000, learning_rate 0.354 (= 7e-4 × √(256·1000)), which is the same "
            "function of the step. Adam β=(0.9, 0.98), clip 1.0 in both."
        )
    return [
        f"Batch size: 4,096 padded tokens in both (nmtcli: sentences × (longer side + 1), "
        f"{data.transformer_batches_per_epoch} batches/epoch; OpenNMT-py `batch_type tokens`: "
        "sentences × longer side with BOS and EOS on the target, and a batch may reach but "
        "not pass 4,096).",
        schedule,
        "Label smoothing 0.1, dropout 0.1 (attention dropout 0.1) in both.",
        "Architecture: both pre-norm with a final layer norm, sinusoidal positions, ReLU "
        "feed-forward, biases on attention projections and feed-forward layers (OpenNMT-py "
        "`add_qkvbias`/`add_ffnbias`, off by default), source, target and output embeddings "
        "tied (OpenNMT-py `share_embeddings` + `share_decoder_embeddings`); layer-norm ε 1e-5 "
        "in nmtcli, 1e-6 in OpenNMT-py. OpenNMT-py's output layer has a bias (8,000 "
        "parameters, the whole difference in the parameter counts), nmtcli's has none.",
        "Initialisation: nmtcli Xavier-uniform matrices and N(0, 1/256) embeddings; OpenNMT-py "
        "Xavier-uniform for everything (`param_init 0`, `param_init_glorot`).",
        *both,
    ]


# -- training ----------------------------------------------------------------------------------

_NMTCLI_STEP = re.compile(r"^step (\d+) .*?\| ([\d,]+) tok/s \|", re.M)
_ONMT_STEP = re.compile(r"Step\s+(\d+)(?:/\s*\d+)?;.*?;\s*(\d+)/\s*(\d+) tok/s;\s*(\d+) sec")
_PARAMS = re.compile(r"([\d,]+) parameters")
_ONMT_PARAMS = re.compile(r"\* number of parameters: (\d+)")


@dataclass
class Trained:
    """One tool's training run."""

    tool: str
    checkpoint: Path
    params: int | None
    steps: int
    target_tokens: int
    epochs: float
    reported_tok_s: float  # nmtcli metrics.jsonl / OpenNMT log lines
    loop_tok_s: float  # training loop only
    loop_seconds: float | None
    wall_seconds: float
    peak_mb: float
    extra: dict = field(default_factory=dict)


def train_nmtcli(model: str, data: Data, budget: float, runtime: Runtime, out: Path) -> Trained:
    """Train with nmtcli for `budget` seconds."""
    directory = out / "nmtcli"
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        nmtcli(),
        "train",
        *("--src-file", str(data.train_src), "--tgt-file", str(data.train_tgt)),
        *("--valid-src-file", str(data.valid_src), "--valid-tgt-file", str(data.valid_tgt)),
        *("--vocab", str(data.vocab), "-o", str(directory), "--force"),
        *nmtcli_train_args(model, data, budget),
    ]
    log = out / "nmtcli-train.log"
    measured = run(
        runtime.wrap(command),
        stderr=log,
        stdout=out / "nmtcli-train.out",
        env=runtime.env(),
        timeout=budget + 900,
        note=f"nmtcli {model} training",
    )
    text = log.read_text(errors="replace")
    record = read_metrics(directory)[-1]
    lines = _NMTCLI_STEP.findall(text)
    loop = float(lines[-1][1].replace(",", "")) if lines else float("nan")
    params = _PARAMS.search(text)
    return Trained(
        tool="nmtcli",
        checkpoint=directory,
        params=int(params.group(1).replace(",", "")) if params else None,
        steps=int(record["step"]),
        target_tokens=int(record["tokens"]),
        epochs=float(record["epoch"]),
        reported_tok_s=float(record["tokens_per_second"]),
        loop_tok_s=loop,
        loop_seconds=None,
        wall_seconds=measured.seconds,
        peak_mb=measured.peak_mb,
        extra={
            "last_progress_step": int(lines[-1][0]) if lines else None,
            "metrics": record,
            "command": COMMANDS[-1],
        },
    )


def train_onmt(
    model: str, data: Data, budget: float, runtime: Runtime, out: Path, optim: str
) -> Trained:
    """Train with OpenNMT-py for `budget` seconds (onmt_launch.py stops it)."""
    import yaml

    directory = out / "onmt"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    config = directory / "config.yaml"
    config.write_text(yaml.safe_dump(onmt_config(model, data, directory, optim), sort_keys=False))
    stats = directory / "stats.json"
    command = [
        str(ONMT_PY),
        str(LAUNCHER),
        "train",
        *("--budget", f"{budget:g}", "--stats", str(stats), "--", "-config", str(config)),
    ]
    log = out / "onmt-train.log"
    measured = run(
        runtime.wrap(command),
        stderr=log,
        stdout=out / "onmt-train.out",
        env=runtime.env(),
        timeout=budget + 900,
        note=f"OpenNMT-py {model} training (config: {config})",
    )
    totals = json.loads(stats.read_text())
    checkpoints = sorted(
        directory.glob("model_step_*.pt"), key=lambda p: int(p.stem.rsplit("_", 1)[1])
    )
    if not checkpoints:
        raise RuntimeError(f"OpenNMT-py saved no checkpoint in {directory}")
    text = log.read_text(errors="replace") + (out / "onmt-train.out").read_text(errors="replace")
    # The log lines' target tok/s over the whole run: each report window's rate times its
    # duration (from the cumulative `sec` column), summed, over the total duration.
    reports = [
        (int(s), float(src), float(tgt), float(sec))
        for s, src, tgt, sec in _ONMT_STEP.findall(text)
    ]
    tokens = elapsed = 0.0
    previous = 0.0
    for _, _, rate, seconds in reports:
        tokens += rate * (seconds - previous)
        elapsed, previous = seconds, seconds
    reported = tokens / elapsed if elapsed > 0 else float("nan")
    params = _ONMT_PARAMS.search(text)
    return Trained(
        tool="OpenNMT-py",
        checkpoint=checkpoints[-1],
        params=int(params.group(1)) if params else None,
        steps=int(totals["steps"]),
        target_tokens=int(totals["target_tokens"]),
        epochs=totals["sentences"] / data.train_pairs,
        reported_tok_s=reported,
        loop_tok_s=float(totals["target_tokens_per_second"]),
        loop_seconds=float(totals["train_seconds"]),
        wall_seconds=measured.seconds,
        peak_mb=measured.peak_mb,
        extra={"stats": totals, "report_lines": len(reports), "command": COMMANDS[-1]},
    )


# -- translation and scoring -----------------------------------------------------------------


@dataclass
class Translated:
    """One translation run of test_2016_flickr."""

    beam: int
    seconds: float
    peak_mb: float
    bleu: float
    chrf: float
    signature: str
    words: float  # mean words (whitespace-separated) per output sentence


def score(hypotheses: list[str], references: list[str]) -> tuple[float, float, str, float]:
    """sacreBLEU BLEU and chrF of detokenized output, the BLEU signature, mean output words."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise RuntimeError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    bleu = BLEU()
    result = bleu.corpus_score(hypotheses, [references])
    chrf = CHRF().corpus_score(hypotheses, [references])
    words = sum(len(h.split()) for h in hypotheses) / max(len(hypotheses), 1)
    return result.score, chrf.score, str(bleu.get_signature()), words


def translate_nmtcli(
    trained: Trained, data: Data, beam: int, runtime: Runtime, out: Path, precision: str
) -> Translated:
    """`nmtcli translate -m DIR -k BEAM --precision P < test.en`, whole command timed."""
    hyp = out / f"nmtcli-k{beam}.de"
    command = [
        nmtcli(),
        "translate",
        *("-m", str(trained.checkpoint), "-k", str(beam), "--batch-size", "64"),
        *("--device", "cpu", "--precision", precision),
        "--no-split",  # OpenNMT-py translates each line as one input
    ]
    measured = run(
        runtime.wrap(command),
        stdin=data.test_src,
        stdout=hyp,
        stderr=out / f"nmtcli-k{beam}.log",
        env=runtime.env(),
        note=f"nmtcli translate, beam {beam}",
    )
    hypotheses = hyp.read_text(encoding="utf-8").split("\n")[:-1]
    references = data.test_ref.read_text(encoding="utf-8").split("\n")[:-1]
    return Translated(beam, measured.seconds, measured.peak_mb, *score(hypotheses, references))


def translate_onmt(
    trained: Trained, data: Data, beam: int, runtime: Runtime, out: Path
) -> Translated:
    """onmt_translate on pieces (timed: the whole command), then SentencePiece decoding.

    Always fp32: OpenNMT-py 3.5.1's `-precision int8` is a no-op (model_builder compares the
    option's string with torch.int8, so quantize_dynamic never runs; measured: same BLEU and
    speed as fp32).
    """
    import sentencepiece as spm

    pieces = out / f"onmt-k{beam}.de.sp"
    command = [
        str(ONMT_PY),
        str(LAUNCHER),
        "translate",
        "--",
        *("-model", str(trained.checkpoint), "-src", str(data.test_src_sp)),
        *("-output", str(pieces), "-beam_size", str(beam), "-batch_size", "64"),
        *("-batch_type", "sents", "-length_penalty", "wu", "-alpha", "1.0"),
        *("-max_length", "256", "-max_length_ratio", "2.0", "-seed", "1"),
    ]
    measured = run(
        runtime.wrap(command),
        stdout=out / f"onmt-k{beam}.out",
        stderr=out / f"onmt-k{beam}.log",
        env=runtime.env(),
        note=f"OpenNMT-py translate, beam {beam}",
    )
    sp = spm.SentencePieceProcessor(model_file=str(data.vocab / "joint.model"))
    hypotheses = []
    for line in pieces.read_text(encoding="utf-8").split("\n")[:-1]:
        ids = [sp.piece_to_id(piece) for piece in line.split()]  # unknown pieces -> <unk>
        hypotheses.append(sp.decode(ids))
    hyp = out / f"onmt-k{beam}.de"
    _write_lines(hyp, hypotheses)
    COMMANDS.append(f"# SentencePiece decode {pieces} (piece_to_id, decode) -> {hyp}")
    references = data.test_ref.read_text(encoding="utf-8").split("\n")[:-1]
    return Translated(beam, measured.seconds, measured.peak_mb, *score(hypotheses, references))


# -- report ------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    """a / b as `1.23×`."""
    if a is None or b is None or b == 0 or any(map(math.isnan, (a, b))):
        return "–"
    return f"{a / b:.2f}×"


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    """Formatted number or –."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:{spec}}{unit}"


def model_table(
    trained: dict[str, Trained], translated: dict[str, dict[int, Translated]], sentences: int
) -> str:
    """The side-by-side table of one model."""
    a, b = trained["nmtcli"], trained["OpenNMT-py"]
    ta, tb = translated["nmtcli"], translated["OpenNMT-py"]
    rows: list[list[str]] = []

    def add(name: str, x: float | None, y: float | None, spec: str, unit: str = "") -> None:
        shown = [_fmt(x, spec, unit), _fmt(y, spec, unit)]
        # no ratio of figures that round to zero (BLEU 0.00 of an untrained model, say)
        zero = any(re.fullmatch(r"[0.,]+", text.removesuffix(unit)) for text in shown)
        rows.append([name, *shown, "–" if zero else _ratio(x, y)])

    add("parameters", a.params, b.params, ",d")
    add(
        "training: target tok/s, training loop only (see notes)",
        a.loop_tok_s,
        b.loop_tok_s,
        ",.0f",
    )
    add(
        "training: target tok/s as each tool reports it "
        "(nmtcli metrics.jsonl / OpenNMT-py log lines)",
        a.reported_tok_s,
        b.reported_tok_s,
        ",.0f",
    )
    add("training: updates (steps) in the budget", a.steps, b.steps, ",d")
    add("training: target tokens trained", a.target_tokens, b.target_tokens, ",d")
    add(
        "training: target tokens per update",
        a.target_tokens / max(a.steps, 1),
        b.target_tokens / max(b.steps, 1),
        ",.0f",
    )
    add("training: epochs", a.epochs, b.epochs, ".2f")
    add("training: peak RSS", a.peak_mb, b.peak_mb, ",.0f", " MB")
    add("training: whole command wall time", a.wall_seconds, b.wall_seconds, ",.1f", " s")
    for beam, name in ((1, "greedy"), (5, "beam 5")):
        add(f"BLEU, {name}", ta[beam].bleu, tb[beam].bleu, ".2f")
    for beam, name in ((1, "greedy"), (5, "beam 5")):
        add(f"chrF2, {name}", ta[beam].chrf, tb[beam].chrf, ".2f")
    for beam, name in ((1, "greedy"), (5, "beam 5")):
        add(f"output words/sentence, {name}", ta[beam].words, tb[beam].words, ".1f")
    for beam, name in ((1, "greedy"), (5, "beam 5")):
        add(f"translate {name}: wall time", ta[beam].seconds, tb[beam].seconds, ".2f", " s")
        add(
            f"translate {name}: sentences/s",
            sentences / ta[beam].seconds,
            sentences / tb[beam].seconds,
            ",.1f",
        )
        add(f"translate {name}: peak RSS", ta[beam].peak_mb, tb[beam].peak_mb, ",.0f", " MB")
    return table(["", "nmtcli", "OpenNMT-py 3.5.1", "nmtcli / OpenNMT-py"], rows)


def main() -> None:
    """Install OpenNMT-py if needed, train and translate with both tools, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, help="training seconds per model and tool (600)")
    parser.add_argument("--quick", action="store_true", help="60-second budgets (smoke test)")
    parser.add_argument("--models", default="rnn,transformer", help="rnn, transformer or both")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument(
        "--threads", type=int, help="OMP/MKL threads for both tools (default: torch's default)"
    )
    parser.add_argument("--cpus", help="run every command under `taskset -c CPUS`")
    parser.add_argument(
        "--transformer-optim",
        choices=["usual", "matched"],
        default="usual",
        help="OpenNMT-py Transformer optimiser: its usual recipe (noam, lr 2, 8000 warm-up "
        "steps) or nmtcli's schedule (default: usual)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse models trained by an earlier run with the same settings (translate only)",
    )
    parser.add_argument(
        "--nmtcli-precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="nmtcli translate --precision (default fp32)",
    )
    args = parser.parse_args()
    budget = args.budget if args.budget is not None else (60.0 if args.quick else 600.0)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - {"rnn", "transformer"})
    if unknown or not models:
        parser.error(f"--models takes rnn and/or transformer, not {', '.join(unknown) or '?'}")
    runtime = Runtime(args.cpus, args.threads)

    installed = ensure_onmt()
    print(installed, flush=True)
    vocab = multi30k_vocab()
    data = prepare_data(vocab)
    references = data.test_ref.read_text(encoding="utf-8").split("\n")[:-1]
    sentences = len(references)
    reference_words = sum(len(r.split()) for r in references) / sentences
    print(
        f"data ready: {data.train_pairs:,} training pairs; nmtcli RNN --batch-tokens "
        f"{data.rnn_batch_tokens} ({data.rnn_batches_per_epoch} batches/epoch, OpenNMT-py "
        f"{data.rnn_onmt_batches_per_epoch} of 64 sentences)",
        flush=True,
    )
    threads = f"{args.threads} (OMP_NUM_THREADS)" if args.threads else "torch default"
    header = [
        f"# nmtcli vs OpenNMT-py {ONMT_VERSION}: Multi30k En→De, {budget:g} s training budget",
        "",
        f"Machine: {machine()}; threads: {threads}"
        + (f"; pinned to CPUs {args.cpus}" if args.cpus else "")
        + f". nmtcli {installed_version('nmtcli')} with torch {installed_version('torch')}; "
        f"{installed}.",
        f"Data: Multi30k train ({data.train_pairs:,} pairs), joint 8k SentencePiece unigram "
        f"model {vocab}/joint.model for both tools; test_2016_flickr ({sentences:,} sentences) "
        "scored with sacreBLEU on detokenized output against the raw references. "
        "Commands ran one at a time.",
        f"Translation precision: nmtcli {args.nmtcli_precision}, OpenNMT-py fp32.",
    ]
    sections = ["\n".join(header)]
    for model in models:
        out = PEER / "runs" / f"{budget:g}s-{args.transformer_optim}" / model
        out.mkdir(parents=True, exist_ok=True)
        settings = json.dumps(
            {
                "budget": budget,
                "threads": args.threads,
                "cpus": args.cpus,
                "optim": args.transformer_optim,
                "nmtcli": nmtcli_train_args(model, data, budget),
                "onmt": onmt_config(model, data, out / "onmt", args.transformer_optim),
            },
            sort_keys=True,
        )
        saved = out / "trained.json"
        trained: dict[str, Trained] = {}
        if args.reuse and saved.is_file():
            previous = json.loads(saved.read_text())
            if previous["settings"] == settings:
                for item in previous["trained"]:
                    item["checkpoint"] = Path(item["checkpoint"])
                    trained[item["tool"]] = Trained(**item)
                    COMMANDS.append(f"{item['extra']['command']}  (earlier run, reused)")
                print(f"{model}: reusing the models trained earlier in {out}", flush=True)
        if not trained:
            print(f"{model}: training nmtcli for {budget:g} s ...", flush=True)
            trained["nmtcli"] = train_nmtcli(model, data, budget, runtime, out)
            print(f"{model}: training OpenNMT-py for {budget:g} s ...", flush=True)
            trained["OpenNMT-py"] = train_onmt(
                model, data, budget, runtime, out, args.transformer_optim
            )
            saved.write_text(
                json.dumps(
                    {
                        "settings": settings,
                        "trained": [
                            {**vars(t), "checkpoint": str(t.checkpoint)} for t in trained.values()
                        ],
                    },
                    indent=1,
                )
            )
        for tool in trained.values():
            print(
                f"{model}: {tool.tool}: {tool.steps:,} updates, {tool.loop_tok_s:,.0f} target "
                f"tok/s (loop), {tool.reported_tok_s:,.0f} (as reported), peak {tool.peak_mb:,.0f} MB",
                flush=True,
            )
        translated: dict[str, dict[int, Translated]] = {"nmtcli": {}, "OpenNMT-py": {}}
        for beam in (1, 5):
            print(f"{model}: translating test_2016_flickr, beam {beam} ...", flush=True)
            translated["nmtcli"][beam] = translate_nmtcli(
                trained["nmtcli"], data, beam, runtime, out, args.nmtcli_precision
            )
            translated["OpenNMT-py"][beam] = translate_onmt(
                trained["OpenNMT-py"], data, beam, runtime, out
            )
            for tool, result in translated.items():
                done = result[beam]
                print(
                    f"{model}: {tool} beam {beam}: BLEU {done.bleu:.2f}, {done.seconds:.1f} s",
                    flush=True,
                )
        signature = translated["nmtcli"][1].signature
        a, b = trained["nmtcli"], trained["OpenNMT-py"]
        notes = [
            f"BLEU signature: `{signature}`.",
            f"Training loop only: nmtcli's last progress line (step {a.extra.get('last_progress_step')} "
            f"of {a.steps}; trained target tokens / seconds since training started); OpenNMT-py: "
            f"its Statistics totals over the loop's {_fmt(b.loop_seconds, '.1f')} s from the "
            "first batch. As reported: nmtcli metrics.jsonl `tokens_per_second` (its denominator "
            "also covers the final validation and checkpoint, after the budget); OpenNMT-py its "
            f"`tok/s` log lines ({b.extra.get('report_lines')} lines, one every {ONMT_REPORT_EVERY} "
            "updates), "
            "weighted by duration (the first window also covers reading the corpus).",
            f"Output length: the references have {reference_words:.1f} words per sentence; a "
            "model that writes longer (or runaway) output also takes longer to translate.",
            "Translation: the whole command (start-up and model loading included), nmtcli on raw "
            "text, OpenNMT-py on pre-encoded pieces (SentencePiece encoding and decoding, a few "
            "milliseconds, are outside its timing). Peak RSS: ru_maxrss of the command's process.",
        ]
        title = {
            "rnn": "RNN: bidirectional LSTM encoder (2×128), LSTM decoder 256, embeddings 256, "
            "Luong `general` attention, input feeding",
            "transformer": "Transformer: 3+3 layers, d_model 256, 4 heads, feed-forward 1024, "
            f"tied embeddings (OpenNMT-py optimiser: {args.transformer_optim})",
        }[model]
        section = [
            f"## {title}",
            "",
            model_table(trained, translated, sentences),
            "",
            *[f"- {note}" for note in notes],
            "",
            "Differences between the two set-ups:",
            "",
            *[f"- {item}" for item in differences(model, data, args.transformer_optim)],
        ]
        sections.append("\n".join(section))
        print("\n" + "\n".join(section) + "\n", flush=True)
    commands = ["## Commands", "", "```", *COMMANDS, "```"]
    for model in models:
        config = PEER / "runs" / f"{budget:g}s-{args.transformer_optim}" / model / "onmt"
        commands += ["", f"OpenNMT-py {model} configuration ({config}/config.yaml):", ""]
        commands += ["```yaml", (config / "config.yaml").read_text().rstrip(), "```"]
    sections.append("\n".join(commands))
    report = "\n\n".join(sections) + "\n"
    print("\n" + report)
    if args.markdown:
        args.markdown.write_text(report, encoding="utf-8")
        print(f"report written to {args.markdown}")


if __name__ == "__main__":
    main()
