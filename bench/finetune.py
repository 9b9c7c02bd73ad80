"""Transfer learning: the shipped model fine-tuned on Multi30k En→Fr against training from scratch.

One run per kind, each as long as the largest budget (minutes of training on one core, bf16
autocast), validating every `--valid-every` updates and keeping every validation's weights: the
model at a smaller budget B is the last validation within B minutes of its run (the training
clock counts validation time too, as a run of B minutes would), at the largest the run's final
checkpoint. `finetune` starts from the shipped
Tatoeba model (`--init-from en-fr`), `scratch` is the default Transformer with its own
vocabulary. Each model is scored with beam 5 on Multi30k test_2016_flickr and test_2017_flickr
and on Tatoeba test (what fine-tuning forgets); the zero-shot row is the shipped model as it is.
Settings were chosen on Multi30k val (docs/transfer.md), never on a test set.

    python -m bench.finetune --minutes 5,10,20 --kinds finetune,scratch --threads 1 --cpus 0
    python -m bench.finetune ... --kinds finetune --cpus 0 & python -m bench.finetune ... \
        --kinds scratch --cpus 1    # the two runs side by side, one core each

`--chart FILE.svg` draws test_2016 BLEU against minutes for both kinds (needs matplotlib).
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
from pathlib import Path

from bench.common import (
    MULTI30K,
    REPO,
    TATOEBA,
    WORK,
    evaluate,
    machine,
    nmtcli,
    pin,
    publish,
    read_metrics,
    table,
)

DATA = [
    *("--src-file", str(MULTI30K / "train.en.gz"), "--tgt-file", str(MULTI30K / "train.fr.gz")),
    *("--valid-src-file", str(MULTI30K / "val.en.gz")),
    *("--valid-tgt-file", str(MULTI30K / "val.fr.gz")),
    *("--valid-bleu-sentences", "1014", "--precision", "bf16", "--log-every", "300"),
    *("--keep-checkpoints", "1000"),
]
KINDS = {"finetune": ["--init-from", str(REPO / "models" / "en-fr")], "scratch": []}
LABELS = {"finetune": "fine-tuned (--init-from en-fr)", "scratch": "from scratch"}
TESTS = ("test_2016_flickr", "test_2017_flickr")


def plain_text(name: str) -> tuple[Path, Path]:
    """Multi30k test set `name` as plain .en/.fr files (written once)."""
    paths = []
    for side in ("en", "fr"):
        target = WORK / f"multi30k-{name}.{side}"
        if not target.is_file():
            WORK.mkdir(exist_ok=True)
            with gzip.open(MULTI30K / f"{name}.{side}.gz", "rt", encoding="utf-8") as handle:
                target.write_text(handle.read(), encoding="utf-8")
        paths.append(target)
    return paths[0], paths[1]


def train(kind: str, minutes: float, valid_every: int, reuse: bool) -> Path:
    """One run of `kind` for `minutes`, every validation's weights kept."""
    output = WORK / f"finetune-{kind}-{minutes:g}m"
    if not (reuse and (output / "model.safetensors").is_file()):
        command = [nmtcli(), "train", *DATA, *KINDS[kind], "-o", str(output), "--force"]
        command += ["--valid-every", str(valid_every), "--max-time", f"{minutes:g}m"]
        subprocess.run(command, check=True, cwd=REPO)
    return output


def at_budget(run: Path, minutes: float, last: bool) -> tuple[Path, dict]:
    """The model of the last validation within `minutes` of `run` (exported), and its record.

    The `last` budget is the run's own: its final checkpoint, validated just after the limit.
    """
    records = [r for r in read_metrics(run) if last or r["train_seconds"] <= minutes * 60]
    if not records:
        raise SystemExit(f"{run}: no validation within {minutes:g} minutes")
    record = records[-1]
    output = WORK / f"{run.name}-at-{minutes:g}m"
    command = [nmtcli(), "export", str(run), str(output), "--step", str(record["step"]), "--force"]
    subprocess.run(command, check=True, cwd=REPO, capture_output=True)
    return output, record


def row(label: str, minutes: str, model: Path | None, record: dict | None) -> list[str]:
    """Scores of one model (the shipped model when `model` is None)."""
    target = model if model is not None else REPO / "models" / "en-fr"
    cells = [label, minutes]
    cells += [f"{record['step']:,}", f"{record['valid_bleu']:.2f}"] if record else ["–", "–"]
    for test in TESTS:
        scores = evaluate(target, *plain_text(test), beam=5)["overall"]
        cells.append(f"{scores['bleu']:.2f} / {scores['chrf']:.1f}")
    tatoeba = evaluate(target, TATOEBA / "test.en", TATOEBA / "test.fr", beam=5)["overall"]
    return [*cells, f"{tatoeba['bleu']:.2f}"]


def chart(path: Path, budgets: list[float], rows: list[list[str]]) -> None:
    """test_2016 BLEU against minutes, one line per kind (the zero-shot point at 0)."""
    from nmtcli.charts import save_plot

    labels = ["0", *(f"{b:g}" for b in budgets)]
    zero = float(rows[0][4].split(" / ")[0]) if rows[0][1] == "0" else None
    series = {}
    for kind, label in LABELS.items():
        points = {r[1]: float(r[4].split(" / ")[0]) for r in rows if r[0] == label}
        if points:
            series[label] = [zero if kind == "finetune" else None] + [
                points.get(m) for m in labels[1:]
            ]
    title = "Multi30k En→Fr test_2016_flickr, beam 5"
    save_plot(path, labels, series, "BLEU", title, "minutes of training on one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="5,10,20", help="training budgets, comma-separated")
    parser.add_argument("--kinds", default="finetune,scratch", help="finetune, scratch or both")
    parser.add_argument("--valid-every", type=int, default=150, help="updates between validations")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep runs already trained")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument(
        "--chart", type=Path, default=None, help="BLEU against minutes (.svg, .png)"
    )
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    budgets = [float(m) for m in args.minutes.split(",")]
    kinds = args.kinds.split(",")
    rows = [row("zero-shot (shipped model)", "0", None, None)] if "finetune" in kinds else []
    for kind in kinds:
        run = train(kind, max(budgets), args.valid_every, args.reuse)
        for minutes in budgets:
            model = at_budget(run, minutes, minutes == max(budgets))
            rows.append(row(LABELS[kind], f"{minutes:g}", *model))
    headers = ["model", "minutes", "updates", "val BLEU (greedy)"]
    headers += [*(f"{t} BLEU / chrF" for t in TESTS), "Tatoeba test BLEU"]
    title = f"Multi30k En→Fr, beam 5, {setting}, {machine()}"
    publish(title, table(headers, rows), args.markdown)
    if args.chart:
        chart(args.chart, budgets, rows)


if __name__ == "__main__":
    main()
