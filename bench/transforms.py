"""What the training-time transforms buy: the same corpus and updates, with and without them.

A random Tatoeba sample is trained twice with the defaults: once with `--no-transforms` for
`--minutes`, then with the default transforms for exactly as many updates (so CPU contention
cannot favour either arm, and the warm-up is the same). Each model is scored on Tatoeba dev
(978 sentences, beam 5: what the transforms may cost on clean input) and on the robustness dev
set (bench/robustness/dev.tsv, beam 5: what they buy on everyday input).

    python -m bench.transforms --size 20000 --minutes 15 --threads 1 --cpus 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from bench.common import TATOEBA, WORK, evaluate, machine, nmtcli, pin, publish, read_metrics, table
from bench.robustness import CAPS, ROBUSTNESS, evaluate_set
from bench.small_corpora import sample


def train(corpus: Path, output: Path, limit: list[str], extra: list[str], reuse: bool) -> None:
    """One run with the defaults, plus `limit` and `extra` options."""
    if reuse and (output / "model.safetensors").is_file():
        return
    command = [nmtcli(), "train", str(corpus), "-o", str(output), "--force", *limit, *extra]
    subprocess.run([*command, "--log-every", "300"], check=True)


def row(name: str, model: Path) -> list[str]:
    """One table row: updates, Tatoeba dev, and the robustness set overall and by category."""
    dev = evaluate(model, TATOEBA / "dev.en", TATOEBA / "dev.fr", beam=5)["overall"]
    robust = evaluate_set(model, ROBUSTNESS / "dev.tsv", 5, by_category=True)
    normal = evaluate_set(model, ROBUSTNESS / "caps-normal.tsv", 5, by_category=False)
    chrf = {c["category"]: c["chrf"] for c in robust["categories"]}
    overall = robust["overall"]
    return [
        name,
        f"{read_metrics(model)[-1]['step']:,}",
        f"{dev['bleu']:.2f}",
        f"{overall['chrf']:.1f}",
        f"{chrf[CAPS]:.1f} / {normal['overall']['chrf']:.1f}",
        f"{overall['kept_verbatim']:.1%}",
        str(overall["degenerate"]),
        " · ".join(f"{c} {v:.0f}" for c, v in chrf.items() if c != CAPS),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep models already trained")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    corpus = sample(args.size)
    plain = WORK / f"transforms-{args.size}-none"
    train(corpus, plain, ["--max-time", f"{args.minutes:g}m"], ["--no-transforms"], args.reuse)
    config = json.loads((plain / "config.json").read_text())["train"]
    steps = str(read_metrics(plain)[-1]["step"])
    same = ["--max-steps", steps, "--warmup", str(config["warmup"]), "--valid-every", "0"]
    transformed = WORK / f"transforms-{args.size}-defaults"
    train(corpus, transformed, same, [], args.reuse)
    rows = [row("--no-transforms", plain), row("default transforms", transformed)]
    headers = ["training", "updates", "Tatoeba dev BLEU", "robustness chrF"]
    headers += ["caps / same in normal case", "kept verbatim", "degenerate", "chrF by category"]
    title = f"{args.size:,} Tatoeba pairs, {args.minutes:g} min, {setting}, {machine()}"
    publish(title, table(headers, rows), args.markdown)


if __name__ == "__main__":
    main()
