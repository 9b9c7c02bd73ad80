"""Translation throughput: sentences/s and target tokens/s, greedy and beam 5, batch 1 and 64.

Usage: python -m bench.translate_speed -m MODEL_DIR INPUT [INPUT ...] [--repeats 3] [--limit N]
           [--precisions fp32,bf16] [--batches 1,64]
Each figure is the median of `--repeats` runs of the whole `nmtcli translate` command (start-up
and model loading included, as a user experiences it); peak memory is the process's RSS. With
several `--precisions`, each setting runs in every precision one after the other (repeats
interleaved), and the last column is the speed relative to the first precision, in this run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import machine, measure, median, nmtcli, pin, publish, table

SEARCHES = [("greedy", 1), ("beam 5", 5)]


def translate_once(
    model: Path, source: Path, beam: int, batch: int, precision: str
) -> tuple[float, float, int]:
    """(seconds, peak MB, output pieces) of one `nmtcli translate` run."""
    command = [
        nmtcli(),
        "translate",
        "--no-split",  # the figures measure search, as they did before splitting existed
        "-m",
        str(model),
        "-k",
        str(beam),
        "--batch-size",
        str(batch),
        "-f",
        "json",
        "--device",
        "cpu",
        "--precision",
        precision,
    ]
    run = measure(command, stdin=source)
    pieces = sum(len(json.loads(line)["pieces"]) + 1 for line in run.stdout.splitlines())
    return run.seconds, run.peak_mb, pieces


def bench_file(
    model: Path,
    source: Path,
    repeats: int,
    limit: int | None,
    precisions: list[str],
    batches: list[int],
) -> list[list[str]]:
    """Rows for one input file."""
    lines = source.read_text(encoding="utf-8").splitlines()[:limit]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "input.txt"
        sample.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for name, beam in SEARCHES:
            for batch in batches:
                runs: dict[str, list[tuple[float, float, int]]] = {p: [] for p in precisions}
                for _ in range(repeats):
                    for precision in precisions:
                        runs[precision].append(
                            translate_once(model, sample, beam, batch, precision)
                        )
                baseline = median([r[0] for r in runs[precisions[0]]])
                for precision, done in runs.items():
                    seconds = median([r[0] for r in done])
                    rows.append(
                        [
                            source.name,
                            f"{len(lines):,}",
                            name,
                            str(batch),
                            precision,
                            f"{seconds:.2f} s",
                            f"{len(lines) / seconds:,.1f}",
                            f"{done[0][2] / seconds:,.0f}",
                            f"{max(r[1] for r in done):,.0f} MB",
                            f"{baseline / seconds:.2f}×",
                        ]
                    )
                    print(" | ".join(rows[-1]), flush=True)
    return rows


def main() -> None:
    """Print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-m", "--model", type=Path, required=True)
    parser.add_argument("inputs", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, help="translate only the first N lines")
    parser.add_argument("--precisions", default="fp32", help="comma-separated, e.g. fp32,bf16")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    rows = []
    for source in args.inputs:
        rows += bench_file(
            args.model,
            source,
            args.repeats,
            args.limit,
            args.precisions.split(","),
            [int(b) for b in args.batches.split(",")],
        )
    headers = [
        "input",
        "sentences",
        "search",
        "batch",
        "precision",
        "wall time",
        "sentences/s",
        "target tokens/s",
        "peak RSS",
        f"speed vs {args.precisions.split(',')[0]}",
    ]
    header = f"Translation speed of {args.model.name} (whole command, model load included), median of {args.repeats}; {machine()}; {setting}"
    result = table(headers, rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
