"""The small-corpus copy task of issue 15: does default training learn it, whatever the model?

3,000 pairs of 4–10 symbols from a 20-letter alphabet (`nmtcli toy copy`), a 100-pair validation
set (another seed), a 64-piece vocabulary, `--max-steps 1500` and nmtcli's default early stopping;
exact match on the validation pairs (greedy), for each model the issue names.

    python -m bench.copy_task --threads 1 --cpus 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.common import WORK, machine, nmtcli, pin, publish, read_metrics, table

MODELS = {
    "GRU, no attention": ["--arch", "rnn", "--cell", "gru", "--attention", "none"],
    "GRU, bahdanau": ["--arch", "rnn", "--cell", "gru", "--attention", "bahdanau"],
    "GRU, dot": ["--arch", "rnn", "--cell", "gru", "--attention", "dot"],
    "GRU, general": ["--arch", "rnn", "--cell", "gru", "--attention", "general"],
    "GRU, concat": ["--arch", "rnn", "--cell", "gru", "--attention", "concat"],
    "2-layer LSTM, reversed source, no attention": [
        *("--arch", "rnn", "--cell", "lstm", "--layers", "2", "--reverse-source"),
        *("--attention", "none"),
    ],
    "2-layer Transformer": [
        *("--arch", "transformer", "--layers", "2", "--d-model", "128", "--heads", "4"),
        *("--ff-size", "256"),
    ],
}
RNN_SIZES = ["--emb-size", "64", "--hidden-size", "128"]


def toy(path: Path, size: int, seed: int) -> Path:
    """A copy-task corpus, written once."""
    if not path.is_file():
        done = subprocess.run(
            [
                *(nmtcli(), "toy", "copy", "--size", str(size), "--min-len", "4"),
                *("--max-len", "10", "--vocab-size", "20", "--seed", str(seed)),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        WORK.mkdir(exist_ok=True)
        path.write_text(done.stdout, encoding="utf-8")
    return path


def exact_match(model: Path, valid: Path) -> float:
    """Exact match of greedy translations of the validation pairs."""
    done = subprocess.run(
        [nmtcli(), "evaluate", "-m", str(model), str(valid), "-k", "1", "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["overall"]["exact_match"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--only", default="", help="models whose name contains this")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    train = toy(WORK / "copy-3000.tsv", 3000, seed=1)
    valid = toy(WORK / "copy-valid-100.tsv", 100, seed=2)
    rows = []
    for name, options in MODELS.items():
        if args.only not in name:
            continue
        output = WORK / ("copy-" + "".join(c if c.isalnum() else "-" for c in name.lower()))
        sizes = RNN_SIZES if "--arch" in options and "rnn" in options else []
        command = [nmtcli(), "train", str(train), "--valid", str(valid), "-o", str(output)]
        command += ["--force", "--vocab-size", "64", "--max-steps", "1500", "--no-transforms"]
        command += [*options, *sizes]
        subprocess.run(command, check=True, capture_output=True)
        records = read_metrics(output)
        rows.append(
            [
                name,
                f"{records[-1]['step']:,}",
                f"{max(r['valid_bleu'] for r in records):.1f}",
                f"{exact_match(output, valid):.1%}",
            ]
        )
    headers = ["model", "steps", "best val BLEU", "exact match"]
    publish(f"Copy task, 3,000 pairs, {setting}, {machine()}", table(headers, rows), args.markdown)


if __name__ == "__main__":
    main()
