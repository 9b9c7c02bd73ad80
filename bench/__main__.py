"""Run the benchmarks and write one Markdown report.

Usage: python -m bench [--quick] [--markdown docs/benchmarks-run.md] [--skip peer,quality]

Parts: start-up (bench.startup), training throughput (bench.train_speed), translation speed
(bench.translate_speed, shipped model on the Tatoeba test set and, when trained, the Multi30k
transformer recipe on test_2016_flickr), recipe quality (bench.quality) and the OpenNMT-py
comparison (bench.peer_opennmt). `--quick` runs small versions of each (under 5 minutes, no
OpenNMT-py); the full run takes hours.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import MULTI30K, REPO, TATOEBA, machine

PARTS = ("startup", "train", "translate", "quality", "peer")


def _run(module: str, args: list[str], markdown: Path) -> str:
    """Run one benchmark module; return the Markdown it wrote."""
    subprocess.run(
        [sys.executable, "-m", module, *args, "--markdown", str(markdown)], check=True, cwd=REPO
    )
    return markdown.read_text()


def _translate_args(quick: bool) -> list[list[str]]:
    """Translation-speed runs: the shipped model on Tatoeba; the Multi30k transformer if trained."""
    limit = ["--limit", "100", "--repeats", "1"] if quick else ["--repeats", "3"]
    runs = []
    shipped = REPO / "models" / "en-fr"
    if (shipped / "config.json").is_file():
        runs.append(["-m", str(shipped), str(TATOEBA / "test.en"), *limit])
    multi30k = REPO / "runs" / "multi30k-en-de-transformer"
    if (multi30k / "model.safetensors").is_file():
        with tempfile.NamedTemporaryFile("w", suffix=".en", delete=False) as handle:
            import gzip

            with gzip.open(MULTI30K / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as source:
                handle.write(source.read())
        runs.append(["-m", str(multi30k), handle.name, *limit])
    return runs


def main() -> None:
    """Run the parts and assemble the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", type=Path, default=REPO / ".bench" / "report.md")
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: " + ", ".join(PARTS)
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if args.quick:
        skip.add("peer")
    sections = [f"# nmtcli benchmarks\n\n{machine()}; {'quick' if args.quick else 'full'} run.\n"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if "startup" not in skip:
            sections.append(
                _run("bench.startup", ["--runs", "5" if args.quick else "15"], out / "startup.md")
            )
        if "train" not in skip:
            sections.append(
                _run("bench.train_speed", ["--quick"] if args.quick else [], out / "train.md")
            )
        if "translate" not in skip:
            for number, translate_args in enumerate(_translate_args(args.quick)):
                sections.append(
                    _run("bench.translate_speed", translate_args, out / f"translate{number}.md")
                )
        if "quality" not in skip:
            sections.append(
                _run("bench.quality", ["--limit", "100"] if args.quick else [], out / "quality.md")
            )
        if "peer" not in skip:
            sections.append(_run("bench.peer_opennmt", [], out / "peer.md"))
    report = "\n".join(sections)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(report)
    print(report)
    print(f"written to {args.markdown}")


if __name__ == "__main__":
    main()
