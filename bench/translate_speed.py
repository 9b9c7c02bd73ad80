"""Translation throughput: sentences/s and target tokens/s, greedy and beam 5, batch 1 and 64.

Usage: python -m bench.translate_speed -m MODEL_DIR INPUT [INPUT ...] [--repeats 3] [--limit N]
Each figure is the median of `--repeats` runs of the whole `nmtcli translate` command (start-up
and model loading included, as a user experiences it); peak memory is the process's RSS.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import machine, measure, median, nmtcli, pin, publish, table

SETTINGS = [("greedy", 1, 1), ("greedy", 1, 64), ("beam 5", 5, 1), ("beam 5", 5, 64)]


def translate_once(model: Path, source: Path, beam: int, batch: int) -> tuple[float, float, int]:
    """(seconds, peak MB, output pieces) of one `nmtcli translate` run."""
    command = [
        nmtcli(),
        "translate",
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
    ]
    run = measure(command, stdin=source)
    pieces = sum(len(json.loads(line)["pieces"]) + 1 for line in run.stdout.splitlines())
    return run.seconds, run.peak_mb, pieces


def bench_file(model: Path, source: Path, repeats: int, limit: int | None) -> list[list[str]]:
    """Rows for one input file."""
    lines = source.read_text(encoding="utf-8").splitlines()[:limit]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "input.txt"
        sample.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for name, beam, batch in SETTINGS:
            runs = [translate_once(model, sample, beam, batch) for _ in range(repeats)]
            seconds = median([r[0] for r in runs])
            pieces = runs[0][2]
            rows.append(
                [
                    source.name,
                    f"{len(lines):,}",
                    name,
                    str(batch),
                    f"{seconds:.2f} s",
                    f"{len(lines) / seconds:,.1f}",
                    f"{pieces / seconds:,.0f}",
                    f"{max(r[1] for r in runs):,.0f} MB",
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
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    rows = []
    for source in args.inputs:
        rows += bench_file(args.model, source, args.repeats, args.limit)
    headers = [
        "input",
        "sentences",
        "search",
        "batch",
        "wall time",
        "sentences/s",
        "target tokens/s",
        "peak RSS",
    ]
    header = f"Translation speed of {args.model.name} (whole command, model load included), median of {args.repeats}; {machine()}; {setting}"
    result = table(headers, rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
