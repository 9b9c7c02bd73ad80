"""Training throughput (target tokens/s) and peak memory on Multi30k En→De for a fixed number of steps.

Usage: python -m bench.train_speed [--steps 60] [--repeats 3] [--quick]
Each configuration trains `--steps` updates of 4096-token batches with the default-size models; the
throughput is the trainer's own tokens/s (validation excluded); peak memory is the process's RSS.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import (
    MULTI30K,
    machine,
    measure,
    median,
    multi30k_vocab,
    nmtcli,
    pin,
    publish,
    read_metrics,
    table,
)

CONFIGS = {
    "rnn general (LSTM 256, bidirectional, input feeding)": [
        "--arch",
        "rnn",
        "--attention",
        "general",
    ],
    "transformer (3+3 layers, 256, 4 heads, ff 1024)": ["--arch", "transformer"],
}


def train_once(
    arch_args: list[str], steps: int, vocab: Path, extra: list[str]
) -> tuple[float, float]:
    """(target tokens/s, peak RSS in MB) of one short training run."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "model"
        command = [
            nmtcli(),
            "train",
            "--src-file",
            str(MULTI30K / "train.en.gz"),
            "--tgt-file",
            str(MULTI30K / "train.de.gz"),
            "--valid-src-file",
            str(MULTI30K / "val.en.gz"),
            "--valid-tgt-file",
            str(MULTI30K / "val.de.gz"),
            "--vocab",
            str(vocab),
            "-o",
            str(output),
            "--max-steps",
            str(steps),
            "--valid-every",
            str(steps),
            "--valid-bleu-sentences",
            "1",
            "--batch-tokens",
            "4096",
            "--log-every",
            "1000",
            *arch_args,
            *extra,
        ]
        run = measure(command)
        return read_metrics(output)[-1]["tokens_per_second"], run.peak_mb


def main() -> None:
    """Print (and optionally write) the throughput table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10 steps, one repeat, fp32 only")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    steps, repeats = (10, 1) if args.quick else (args.steps, args.repeats)
    setting = pin(args.threads, args.cpus)
    vocab = multi30k_vocab()
    precisions = [("fp32", [])] if args.quick else [("fp32", []), ("bf16", ["--precision", "bf16"])]
    rows = []
    for name, arch_args in CONFIGS.items():
        for precision, extra in precisions:
            runs = [train_once(arch_args, steps, vocab, extra) for _ in range(repeats)]
            speed, peak = median([r[0] for r in runs]), max(r[1] for r in runs)
            rows.append([name, precision, f"{speed:,.0f}", f"{peak:,.0f} MB"])
            print(f"{name} {precision}: {speed:,.0f} tok/s, peak {peak:,.0f} MB", flush=True)
    result = table(["model", "precision", "target tokens/s (median)", "peak RSS"], rows)
    header = f"Training throughput, Multi30k En→De, {steps} steps × 4096-token batches, median of {repeats}; {machine()}; {setting}"
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
