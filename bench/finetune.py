"""Transfer learning: the shipped model fine-tuned on Multi30k En→Fr against training from scratch.

For each budget (minutes of training on one core, bf16 autocast) it fine-tunes the shipped
Tatoeba model with `--init-from en-fr` and trains the default Transformer from scratch on the
same data, then scores each with beam 5 on Multi30k test_2016_flickr and test_2017_flickr and on
Tatoeba test (what fine-tuning forgets). The zero-shot row is the shipped model as it is.
Checkpoints are the best on Multi30k val (greedy BLEU), never chosen on a test set.

    python -m bench.finetune --minutes 5,10,20 --threads 1 --cpus 0
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
from pathlib import Path

from bench.common import (
    MULTI30K,
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
]
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


def train(name: str, minutes: float, extra: list[str], reuse: bool) -> Path:
    """One run of `minutes` on Multi30k En→Fr."""
    output = WORK / f"finetune-{name}-{minutes:g}m"
    if not (reuse and (output / "model.safetensors").is_file()):
        command = [nmtcli(), "train", *DATA, "-o", str(output), "--force", *extra]
        subprocess.run([*command, "--max-time", f"{minutes:g}m"], check=True)
    return output


def row(label: str, minutes: str, model: Path | None) -> list[str]:
    """Scores of one model (the shipped model when `model` is None)."""
    target = model if model is not None else Path("models/en-fr")
    cells = [label, minutes]
    steps = read_metrics(target)[-1]["step"] if model is not None else 0
    cells.append(f"{steps:,}" if model is not None else "–")
    for test in TESTS:
        scores = evaluate(target, *plain_text(test), beam=5)["overall"]
        cells.append(f"{scores['bleu']:.2f} / {scores['chrf']:.1f}")
    tatoeba = evaluate(target, TATOEBA / "test.en", TATOEBA / "test.fr", beam=5)["overall"]
    return [*cells, f"{tatoeba['bleu']:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="5,10,20", help="training budgets, comma-separated")
    parser.add_argument("--scratch", action="store_true", help="also train from scratch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep models already trained")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    rows = [row("zero-shot (shipped model)", "0", None)]
    for minutes in (float(m) for m in args.minutes.split(",")):
        tuned = train("init-en-fr", minutes, ["--init-from", "en-fr"], args.reuse)
        rows.append(row("fine-tuned (--init-from en-fr)", f"{minutes:g}", tuned))
        if args.scratch:
            scratch = train("scratch", minutes, [], args.reuse)
            rows.append(row("from scratch", f"{minutes:g}", scratch))
    headers = ["model", "minutes", "updates", *(f"{t} BLEU / chrF" for t in TESTS)]
    headers.append("Tatoeba test BLEU")
    title = f"Multi30k En→Fr, beam 5, {setting}, {machine()}"
    publish(title, table(headers, rows), args.markdown)


if __name__ == "__main__":
    main()
