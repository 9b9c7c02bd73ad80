"""Start-up time of light commands against `python -c pass` (median of N runs, same session).

Usage: python -m bench.startup [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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
    args = parser.parse_args()
    nmtcli = shutil.which("nmtcli") or str(Path(sys.executable).with_name("nmtcli"))
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp, "ref.txt")
        ref.write_text("the cat sat on the mat\n" * 100)
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], b""),
            "nmtcli --help": ([nmtcli, "--help"], b""),
            "nmtcli bleu ref.txt < hyp (100 lines)": ([nmtcli, "bleu", str(ref)], ref.read_bytes()),
        }
        results = {name: wall_time(cmd, stdin, args.runs) for name, (cmd, stdin) in cases.items()}
    base = results["python -c pass"]
    print("| command | median wall time | ratio to `python -c pass` |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds * 1000:.0f} ms | {seconds / base:.1f}x |")


if __name__ == "__main__":
    main()
