"""One-command training at every corpus size: `nmtcli train SAMPLE.tsv --max-time T`, then Tatoeba dev.

Random samples of the Tatoeba training file (seed 1) are trained with nmtcli's defaults (and,
with `--variants`, with an architecture forced), one core each, for a fixed time; each model
translates Tatoeba dev (978 sentences, beam 5) and the table shows BLEU, chrF, how many
non-empty inputs got an empty output, and what the run derived from the corpus.

    python -m bench.small_corpora --sizes 5000:10,20000:20 --threads 1 --cpus 1
    python -m bench.small_corpora --sizes 5000:10 --variants default,rnn,transformer
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
from pathlib import Path

from bench.common import TATOEBA, WORK, evaluate, machine, nmtcli, pin, publish, read_metrics, table

VARIANTS = {"default": [], "rnn": ["--arch", "rnn"], "transformer": ["--arch", "transformer"]}


def sample(size: int, seed: int = 1) -> Path:
    """A random sample of `size` Tatoeba training pairs, written once."""
    target = WORK / f"tatoeba-sample-{size}-seed{seed}.tsv"
    if not target.is_file():
        with gzip.open(TATOEBA / "train.tsv.gz", "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        chosen = random.Random(seed).sample(lines, min(size, len(lines)))
        WORK.mkdir(exist_ok=True)
        target.write_text("".join(line + "\n" for line in chosen), encoding="utf-8")
    return target


def train(corpus: Path, minutes: float, variant: str, reuse: bool) -> Path:
    """Train one model with the defaults (plus the variant's options)."""
    output = WORK / f"small-{corpus.stem}-{minutes:g}m-{variant}"
    if reuse and (output / "model.safetensors").is_file():
        return output
    command = [nmtcli(), "train", str(corpus), "-o", str(output), "--force"]
    subprocess.run([*command, "--max-time", f"{minutes:g}m", *VARIANTS[variant]], check=True)
    return output


def empty_outputs(model: Path) -> int:
    """How many non-empty dev sources the model translates to an empty line (beam 5)."""
    source = TATOEBA / "dev.en"
    done = subprocess.run(
        [nmtcli(), "translate", "-m", str(model), "-i", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = zip(source.read_text(encoding="utf-8").splitlines(), done.stdout.splitlines())
    return sum(1 for src, hyp in pairs if src.strip() and not hyp.strip())


def row(size: int, minutes: float, variant: str, model: Path) -> list[str]:
    """One table row."""
    scores = evaluate(model, TATOEBA / "dev.en", TATOEBA / "dev.fr", beam=5)["overall"]
    records = read_metrics(model)
    config = json.loads((model / "config.json").read_text())
    derived = config["train"].get("derived") or {}
    best = max((r["valid_bleu"] for r in records), default=0.0)
    return [
        f"{size:,}",
        f"{minutes:g} min",
        variant,
        config["model"]["arch"] + (f" {config['model'].get('attention', '')}".rstrip()),
        f"{records[-1]['step']:,}" if records else "0",
        f"{best:.2f}",
        f"{scores['bleu']:.2f}",
        f"{scores['chrf']:.2f}",
        str(empty_outputs(model)),
        "; ".join(f"{k} {v}" for k, v in derived.items()) or "–",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000:10,20000:20", help="SIZE:MINUTES,...")
    parser.add_argument("--variants", default="default", help=",".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep models already trained")
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    setting = pin(args.threads, args.cpus)
    rows = []
    for item in args.sizes.split(","):
        size, minutes = int(item.split(":")[0]), float(item.split(":")[1])
        corpus = sample(size)
        for variant in args.variants.split(","):
            model = train(corpus, minutes, variant, args.reuse)
            rows.append(row(size, minutes, variant, model))
    headers = ["pairs", "budget", "options", "model", "steps", "best val BLEU"]
    headers += ["dev BLEU (beam 5)", "dev chrF", "empty outputs", "derived"]
    publish(
        f"Tatoeba samples, defaults, {setting}, {machine()}", table(headers, rows), args.markdown
    )


if __name__ == "__main__":
    main()
