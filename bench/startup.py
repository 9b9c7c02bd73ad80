"""Start-up time of commands against `python -c pass` (median of N runs, same session).

Usage: python -m bench.startup [--runs 15] [--model DIR] [--markdown FILE]
Measures `nmtcli --help`, `nmtcli bleu` on 100 lines, and translating one sentence with the
shipped model (or `--model DIR`), each as a whole process, against a bare interpreter.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, nmtcli, publish, table


def wall_time(command: list[str], stdin: bytes, runs: int) -> float:
    """Median wall time in seconds of `command` over `runs` runs (after one warm-up)."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, input=stdin, capture_output=True, check=True)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print a Markdown table of start-up times and their ratio to a bare interpreter."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--model",
        type=Path,
        help="model for the one-sentence translation (default: the shipped one)",
    )
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    tool = nmtcli()
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp, "ref.txt")
        ref.write_text("the cat sat on the mat\n" * 100)
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], b""),
            "nmtcli --help": ([tool, "--help"], b""),
            "nmtcli bleu ref.txt < hyp.txt (100 lines)": (
                [tool, "bleu", str(ref)],
                ref.read_bytes(),
            ),
        }
        model = ["-m", str(args.model)] if args.model else []
        try:
            subprocess.run([tool, "translate", *model, "hello"], capture_output=True, check=True)
            cases['nmtcli translate "turn off the lights"'] = (
                [tool, "translate", *model, "turn off the lights"],
                b"",
            )
        except subprocess.CalledProcessError:
            print("no model to translate with: skipping the translation case", file=sys.stderr)
        results = {name: wall_time(cmd, stdin, args.runs) for name, (cmd, stdin) in cases.items()}
    base = results["python -c pass"]
    rows = [
        [f"`{name}`", f"{seconds * 1000:.0f} ms", f"{seconds / base:.1f}x"]
        for name, seconds in results.items()
    ]
    header = f"Start-up, median of {args.runs} runs; {machine()}"
    result = table(["command", "median wall time", "ratio to `python -c pass`"], rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
