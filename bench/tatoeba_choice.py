"""Which architecture to ship: Tatoeba En→Fr models side by side (the model card's comparison).

Usage: python -m bench.tatoeba_choice MODEL_DIR [MODEL_DIR ...] [--repeats 3] [--markdown FILE]
           [--threads 1] [--cpus 1]
For each trained model directory: parameters, training steps and time (from its metrics.jsonl),
BLEU and chrF on `dev` (what the choice is made on) and on `test` (reported only), greedy and
beam 5, and translation speed on test.en (sentences/s of the whole `nmtcli translate` command,
batch 64, median of --repeats runs, measured in this same run for every model).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.common import (
    TATOEBA,
    evaluate,
    machine,
    measure,
    median,
    nmtcli,
    pin,
    publish,
    read_metrics,
    table,
)


def speed(model: Path, beam: int, repeats: int, lines: int) -> tuple[float, float]:
    """(sentences/s, peak MB) translating test.en (`lines` sentences), median of `repeats`."""
    command = [nmtcli(), "translate", "-m", str(model), "-k", str(beam), "--batch-size", "64"]
    command.append("--no-split")  # as the speed figures measured before splitting existed
    runs = [measure(command, stdin=TATOEBA / "test.en") for _ in range(repeats)]
    return lines / median([r.seconds for r in runs]), max(r.peak_mb for r in runs)


def describe(model: Path) -> tuple[str, int, str]:
    """(architecture, parameters, training) of a model directory."""
    info = json.loads(
        subprocess.run(
            [nmtcli(), "info", str(model), "-f", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    config = info["config"]["model"]
    if config["arch"] == "rnn":
        arch = f"RNN ({config['cell']}, {config['attention']} attention)"
    else:
        arch = f"Transformer ({config['layers']}+{config['layers']} layers, d {config['d_model']})"
    records = read_metrics(model)
    last = records[-1]
    trained = (
        f"{last['step']:,} steps, {last['epoch']:.1f} epochs, {last['train_seconds'] / 60:.0f} min"
    )
    return arch, info["parameters"], trained


def main() -> None:
    """Print (and optionally write) the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    rows, signature = [], ""
    lines = len((TATOEBA / "test.en").read_text(encoding="utf-8").splitlines())
    for model in args.models:
        arch, parameters, trained = describe(model)
        row = [f"`{model.name}`", arch, f"{parameters:,}", trained]
        for split in ("dev", "test"):
            for beam in (1, 5):
                result = evaluate(model, TATOEBA / f"{split}.en", TATOEBA / f"{split}.fr", beam)
                overall = result["overall"]
                signature = result["bleu_signature"]
                row.append(f"{overall['bleu']:.1f} / {overall['chrf']:.1f}")
        for beam in (1, 5):
            per_second, peak = speed(model, beam, args.repeats, lines)
            row.append(f"{per_second:,.0f}")
        row.append(f"{peak:,.0f} MB")
        rows.append(row)
        print(" | ".join(row), flush=True)
    headers = [
        "model",
        "architecture",
        "parameters",
        "training",
        "dev greedy BLEU / chrF",
        "dev beam 5",
        "test greedy",
        "test beam 5",
        "sent/s greedy",
        "sent/s beam 5",
        "peak RSS (beam 5)",
    ]
    header = (
        f"Tatoeba En→Fr: dev (978 sources) and test (1,459 sources), one reference each "
        f"(dev.en/.fr, test.en/.fr); translation speed on test.en, whole command, batch 64, median of "
        f"{args.repeats}; {machine()}; {setting}. BLEU signature: `{signature}`"
    )
    result = table(headers, rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
