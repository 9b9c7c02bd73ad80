"""Quality of the recipes: sacreBLEU and chrF on the Multi30k test sets, greedy and beam 5.

Usage: python -m bench.quality [--train] [--max-time 2h] [--precision bf16] [--pairs de,fr]
           [--models rnn-general,transformer] [--limit N] [--markdown FILE]
Evaluates every `recipes/multi30k-*.yaml` model found in `runs/` (trained with
`nmtcli train --config recipes/NAME.yaml`); with `--train`, trains the missing ones first
(hours on a CPU). Checkpoints were selected on `val`; test sets are only scored here.
Each score is kept in `.bench/quality/scores/` and reused while the model's weights are older,
so models can be scored in parallel (`--models`, `--cpus`) and the whole table printed after.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.common import (
    MULTI30K,
    REPO,
    WORK,
    evaluate,
    machine,
    nmtcli,
    pin,
    publish,
    read_metrics,
    table,
)

SCORES = WORK / "quality" / "scores"

TESTS = ("test_2016_flickr", "test_2017_flickr")


def evaluate_test(model: Path, test: str, pair: str, beam: int, limit: int | None) -> dict:
    """`nmtcli evaluate` JSON for one model, Multi30k test set and beam size (cached)."""
    cached = SCORES / f"{model.name}.{test}.k{beam}.limit{limit or 0}.json"
    weights = model / "model.safetensors"
    if cached.is_file() and cached.stat().st_mtime > weights.stat().st_mtime:
        return json.loads(cached.read_text())
    result = _evaluate_test(model, test, pair, beam, limit)
    SCORES.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result))
    return result


def _evaluate_test(model: Path, test: str, pair: str, beam: int, limit: int | None) -> dict:
    """`nmtcli evaluate` JSON for one model, Multi30k test set and beam size."""
    source, reference = MULTI30K / f"{test}.en.gz", MULTI30K / f"{test}.{pair}.gz"
    if limit:
        import gzip
        import tempfile

        tmp = Path(tempfile.mkdtemp())
        for path, name in ((source, "src"), (reference, "ref")):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                lines = handle.read().splitlines()[:limit]
            (tmp / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        source, reference = tmp / "src", tmp / "ref"
    return evaluate(model, source, reference, beam)


def main() -> None:
    """Print (and optionally write) the quality table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", action="store_true", help="train recipes that have no model yet")
    parser.add_argument("--max-time", help="with --train: override each recipe's time budget")
    parser.add_argument("--precision", help="with --train: override each recipe's precision")
    parser.add_argument("--pairs", default="de,fr")
    parser.add_argument(
        "--models", help="only these recipes, e.g. rnn-general,transformer (default: all)"
    )
    parser.add_argument("--limit", type=int, help="score only the first N test sentences")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    pin(args.threads, args.cpus)
    rows, signature = [], ""
    for pair in args.pairs.split(","):
        for recipe in sorted((REPO / "recipes").glob(f"multi30k-en-{pair}-*.yaml")):
            name = recipe.stem.split(f"en-{pair}-")[1]
            if args.models and name not in args.models.split(","):
                continue
            model = REPO / "runs" / recipe.stem
            if args.train and not (model / "model.safetensors").is_file():
                extra = ["--max-time", args.max_time] if args.max_time else []
                extra += ["--precision", args.precision] if args.precision else []
                subprocess.run(
                    [nmtcli(), "train", "--config", str(recipe), "--log-every", "300", *extra],
                    check=True,
                    cwd=REPO,
                )
            if not (model / "model.safetensors").is_file():
                print(f"skipping {recipe.stem}: no trained model in {model}", flush=True)
                continue
            records = read_metrics(model)
            best = max(records, key=lambda r: r["valid_bleu"]) if records else {}
            trained = (
                f"{records[-1]['step']:,} steps, {records[-1]['train_seconds'] / 60:.0f} min"
                if records
                else "?"
            )
            for test in TESTS:
                scores = {
                    beam: evaluate_test(model, test, pair, beam, args.limit) for beam in (1, 5)
                }
                signature = scores[1]["bleu_signature"]
                rows.append(
                    [
                        f"en-{pair}",
                        name,
                        test,
                        trained,
                        f"{best.get('valid_bleu', 0):.1f}",
                        f"{scores[1]['overall']['bleu']:.1f}",
                        f"{scores[5]['overall']['bleu']:.1f}",
                        f"{scores[1]['overall']['chrf']:.1f}",
                        f"{scores[5]['overall']['chrf']:.1f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    headers = [
        "pair",
        "model",
        "test set",
        "training",
        "val BLEU (greedy)",
        "BLEU greedy",
        "BLEU beam 5",
        "chrF greedy",
        "chrF beam 5",
    ]
    header = f"Multi30k quality per recipe; sacreBLEU {signature}; {machine()}"
    result = table(headers, rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
