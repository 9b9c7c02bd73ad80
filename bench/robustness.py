"""Everyday input: the robustness dev set per category, ALL CAPS against normal case, targets.

Usage: python -m bench.robustness [-m MODEL] [--set bench/robustness/dev.tsv]
           [--caps-normal bench/robustness/caps-normal.tsv] [--beam 5] [--markdown FILE]
Translates the set with `nmtcli evaluate --by-category` (beam 5 by default; the shipped model
`models/en-fr` unless -m) and prints BLEU, chrF, kept verbatim and degenerate outputs per
category; then chrF of the `caps` rows against chrF of the same sentences in normal case
(`caps-normal.tsv`, translated the same way); then the targets with pass/fail.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.common import REPO, machine, nmtcli, pin, publish, table

ROBUSTNESS = REPO / "bench" / "robustness"
CAPS = "caps"
TARGET_CHRF, CAPS_GAP, TARGET_VERBATIM = 75.0, 10.0, 0.90


def evaluate_set(model: Path, test: Path, beam: int, by_category: bool) -> dict:
    """`nmtcli evaluate --format json` of one model on a robustness set."""
    command = [nmtcli(), "evaluate", "-m", str(model), str(test), "-k", str(beam), "-f", "json"]
    done = subprocess.run(
        command + (["--by-category"] if by_category else []),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _kept(scores: dict) -> str:
    """The kept-verbatim share with its counts, or – when there is no must-copy span."""
    share, spans = scores["kept_verbatim"], scores["verbatim_spans"]
    return "–" if share is None else f"{share:.1%} ({round(share * spans)}/{spans})"


def category_rows(report: dict) -> list[list[str]]:
    """One Markdown row per category, then the whole set."""
    named = [(r["category"], r) for r in report["categories"]] + [("**all**", report["overall"])]
    return [
        [
            name,
            str(s["sentences"]),
            f"{s['bleu']:.1f}",
            f"{s['chrf']:.1f}",
            _kept(s),
            str(s["degenerate"]),
        ]
        for name, s in named
    ]


def target_rows(report: dict, caps: float | None, normal: float | None) -> list[list[str]]:
    """Each target, the measured value and pass/fail."""
    overall = report["overall"]
    kept = overall["kept_verbatim"]
    shown = "–" if kept is None else f"{kept:.1%}"
    gap = None if caps is None or normal is None else normal - caps
    checks = [
        ("overall chrF ≥ 75", f"{overall['chrf']:.1f}", overall["chrf"] >= TARGET_CHRF),
        (
            "ALL CAPS within 10 chrF of normal case",
            "–" if gap is None else f"{gap:+.1f} (normal − caps)",
            gap is not None and gap <= CAPS_GAP,
        ),
        ("kept verbatim ≥ 90%", shown, kept is not None and kept >= TARGET_VERBATIM),
        ("0 degenerate outputs", str(overall["degenerate"]), overall["degenerate"] == 0),
    ]
    return [[name, value, "pass" if ok else "**fail**"] for name, value, ok in checks]


def main() -> None:
    """Print (and optionally write) the robustness tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-m", "--model", type=Path, default=REPO / "models" / "en-fr")
    parser.add_argument(
        "--set", type=Path, default=ROBUSTNESS / "dev.tsv", dest="test", metavar="TSV"
    )
    parser.add_argument("--caps-normal", type=Path, help="default: caps-normal.tsv beside --set")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    report = evaluate_set(args.model, args.test, args.beam, by_category=True)
    caps = next((r["chrf"] for r in report["categories"] if r["category"] == CAPS), None)
    normal_set = args.caps_normal or args.test.with_name("caps-normal.tsv")
    normal = (
        evaluate_set(args.model, normal_set, args.beam, by_category=False)["overall"]["chrf"]
        if normal_set.is_file()
        else None
    )
    headers = ["category", "sentences", "BLEU", "chrF", "kept verbatim", "degenerate"]
    parts = [table(headers, category_rows(report))]
    parts.append(
        table(
            ["ALL CAPS", "chrF"],
            [
                [f"`{CAPS}` rows of {args.test.name}", "–" if caps is None else f"{caps:.1f}"],
                [
                    f"the same in normal case ({normal_set.name})",
                    "–" if normal is None else f"{normal:.1f}",
                ],
            ],
        )
    )
    parts.append(table(["target", "measured", ""], target_rows(report, caps, normal)))
    header = (
        f"Robustness set {args.test.name}, model {args.model.name}, beam {args.beam}; "
        f"sacreBLEU {report['chrf_signature']}; {machine()}, {setting}"
    )
    publish(header, "\n\n".join(parts), args.markdown)


if __name__ == "__main__":
    main()
