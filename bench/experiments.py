"""The bottleneck experiment: fixed context vs attention vs Transformer, by sentence length.

Usage: python -m bench.experiments [--budget 2m] [--parts multi30k] [--seeds 1,2,3] [--cpus 0,1]
                                   [--output docs/experiments.md]
       python -m bench.experiments --parts copy,reverse,exposure [--lab-budget 2m]
                                   [--seeds 1,2,3] [--lab-cpus 0,1]   (bench.lab: its own block)

For each part, trains `rnn --attention none`, `rnn --attention bahdanau`, `rnn --attention
general` and a Transformer of comparable size for the same wall-clock budget, once per seed
(one run per CPU of `--cpus`, one thread each), then evaluates every run per source-length
bucket (beam 5) and reports BLEU by length as mean ± sd over seeds (table and PNG plot), each
attention model's heatmap for one long test sentence (seed 1), and training steps and tokens/s.
Everything it reports comes from the commands it prints; it writes the Markdown document.

- toy: `nmtcli toy reverse` with sources of 5–50 symbols (the laboratory's reverse data:
  20,000 training pairs, 500 test pairs), default settings (the laboratory chooses them).
- multi30k: Multi30k En→De, each model's setting (batch size; the Transformer's warm-up and
  learning rate) chosen on val, every setting with every seed; results on test_2016_flickr.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import MULTI30K, REPO, WORK, machine, nmtcli, read_metrics, table
from bench.lab import (
    END,
    FAMILIES,
    LAB_PARTS,
    START,
    Pool,
    choose_settings,
    evaluations,
    kind,
    length_table,
    mean_sd,
    plot,
    replace_block,
    task_data,
    tuning_text,
    write_lab,
)

MODELS = FAMILIES  # the laboratory's four model families (bench.lab)
# Comparable parameter counts: toy about 0.7–1.4M (RNN 256 units, Transformer 3+3 layers of 128),
# Multi30k about 7.1–7.7M (RNN 256 units, Transformer 3+3 layers of 256) with an 8k vocabulary.
# The toy task uses batches of 2,048 tokens so that every model gets a few hundred updates.
SIZES = {
    "toy": {
        "rnn": ["--emb-size", "128", "--hidden-size", "256", "--batch-tokens", "2048"],
        "transformer": [
            *["--layers", "3", "--d-model", "128", "--heads", "4", "--ff-size", "512"],
            *["--batch-tokens", "2048", "--warmup", "200"],
        ],
    },
    "multi30k": {
        "rnn": ["--emb-size", "256", "--hidden-size", "256"],
        "transformer": ["--layers", "3", "--d-model", "256", "--heads", "4", "--ff-size", "1024"],
    },
}
# Multi30k: the settings tried per family, chosen on val (see `choose`). The
# first of each is what the earlier version of this part used: the batch size nmtcli derives from
# the corpus (2,048 tokens) and, for the Transformer, a warm-up shortened to 300 steps (the
# default 1,000 would leave a run of minutes still warming up). A budget of minutes favours more,
# smaller updates; each family keeps its usual optimiser (the RNNs Adam 1e-3; the Transformer
# warm-up then inverse square root).
GRID = {
    "rnn": {
        "2,048-token batches": ["--batch-tokens", "2048"],
        "512-token batches": ["--batch-tokens", "512"],
    },
    "transformer": {
        "2,048-token batches, warm-up 300": ["--batch-tokens", "2048", "--warmup", "300"],
        "512-token batches, warm-up 100, lr 1e-3": [
            *["--batch-tokens", "512", "--warmup", "100", "--lr", "1e-3"],
        ],
    },
}


def toy_data(pool: Pool) -> tuple[list[str], list[str], tuple[Path, Path | None]]:
    """Training options, test-set arguments and test files of the reverse task (5–50 symbols)."""
    root = task_data(pool, "reverse")
    data = [str(root / "train.tsv"), "--valid", str(root / "valid.tsv")]
    data += ["--vocab-size", "40", "--valid-bleu-sentences", "300"]
    return data, [str(root / "test.tsv")], (root / "test.tsv", None)


def multi30k_data(root: Path) -> tuple[list[str], list[str], tuple[Path, Path | None]]:
    """Multi30k En→De training/validation options, test-set arguments and test files."""
    test_src, test_ref = root / "test_2016_flickr.en", root / "test_2016_flickr.de"
    for path, name in ((test_src, "en"), (test_ref, "de")):
        with gzip.open(MULTI30K / f"test_2016_flickr.{name}.gz", "rt", encoding="utf-8") as handle:
            path.write_text(handle.read(), encoding="utf-8")
    data = [
        *("--src-file", str(MULTI30K / "train.en.gz"), "--tgt-file", str(MULTI30K / "train.de.gz")),
        *("--valid-src-file", str(MULTI30K / "val.en.gz")),
        *("--valid-tgt-file", str(MULTI30K / "val.de.gz")),
        *("--vocab-size", "8000", "--valid-bleu-sentences", "1014"),
    ]
    return data, ["--src-file", str(test_src), "--ref-file", str(test_ref)], (test_src, test_ref)


def run_args(
    data: list[str], output: Path, name: str, options: list[str], seed: int, budget: str
) -> list[str]:
    """The `nmtcli train` arguments of one run of the model `name`."""
    return [
        *("train", *data, "-o", str(output), "--force", *MODELS[name], *options),
        *("--max-time", budget, "--max-epochs", "1000", "--patience", "0"),
        *("--log-every", "60", "--seed", str(seed)),
        "--no-transforms",  # the laboratory compares architectures on the data as it is
    ]


def train_models(
    pool: Pool, part: str, data: list[str], root: Path, budget: str, seeds: list[int]
) -> dict[str, list[Path]]:
    """Each model's runs, one per seed, all with the same budget; finished ones are reused."""
    runs, models = {}, {}
    for name in MODELS:
        models[name] = [root / f"{name}.s{seed}" for seed in seeds]
        for seed, output in zip(seeds, models[name]):
            options = SIZES[part][kind(name)]
            runs[output] = run_args(data, output, name, options, seed, budget)
    pool.train_all(runs)
    return models


def choose(
    pool: Pool, data: list[str], root: Path, budget: str, seeds: list[int]
) -> tuple[dict[str, list[Path]], str]:
    """Each model's runs with its setting chosen on val (`GRID`, as the laboratory chooses)."""

    def run(path: Path, name: str, label: str, seed: int) -> list[str]:
        options = [*SIZES["multi30k"][kind(name)], *GRID[kind(name)][label]]
        return run_args(data, path, name, options, seed, budget)

    _, models, rows = choose_settings(pool, root, GRID, run, seeds)
    where = "val (1,014 pairs, never the test set)"
    first = "is the earlier version's (the batch size nmtcli derives from the corpus)"
    return models, tuning_text(rows, where, seeds, budget, first)


def training_rows(models: dict[str, list[Path]]) -> list[list[str]]:
    """Parameters, and steps, epochs, time, throughput and best validation BLEU (mean ± sd)."""
    rows = []
    for name, paths in models.items():
        info = subprocess.run(
            [nmtcli(), "info", str(paths[0]), "-f", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        lasts = [read_metrics(path)[-1] for path in paths]
        bests = [max(r["valid_bleu"] for r in read_metrics(path)) for path in paths]
        rows.append(
            [
                name,
                f"{json.loads(info.stdout)['parameters']:,}",
                _spread([r["step"] for r in lasts]),
                mean_sd([r["epoch"] for r in lasts]),
                f"{statistics.mean(r['train_seconds'] for r in lasts) / 60:.1f} min",
                _spread([r["tokens"] / r["train_seconds"] for r in lasts]),
                mean_sd(bests),
            ]
        )
    return rows


def _spread(values: list[float]) -> str:
    """`mean ± sd` of large per-seed counts, as whole numbers."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):,.0f} ± {sd:,.0f}"


def long_example(test: Path, reference: Path | None) -> tuple[str, str]:
    """The longest test source and its reference (a TSV, or a source and a reference file)."""
    lines = test.read_text(encoding="utf-8").splitlines()
    if reference is None:
        pairs = [tuple(line.split("\t")[:2]) for line in lines]
    else:
        pairs = list(zip(lines, reference.read_text(encoding="utf-8").splitlines()))
    return max(pairs, key=lambda p: len(p[0].split()))


def part_section(
    pool: Pool, part: str, budget: str, seeds: list[int], docs: Path
) -> tuple[str, float, float]:
    """Train, evaluate and describe one part: its Markdown, one-core CPU and wall seconds."""
    start, wall = pool.busy, time.perf_counter()
    root = WORK / "experiments" / part
    root.mkdir(parents=True, exist_ok=True)
    if part == "toy":
        data, test_args, files = toy_data(pool)
        models, tuning = train_models(pool, part, data, root, budget, seeds), ""
    else:
        data, test_args, files = multi30k_data(root)
        models, tuning = choose(pool, data, root, budget, seeds)
    width, top = ("10", "50") if part == "toy" else ("5", "25")
    buckets = ["--bucket-width", width, "--bucket-max", top]
    reports = evaluations(pool, test_args, models, buckets)
    image = docs / "img" / f"experiment-{part}-bleu.png"
    unit = "symbols" if part == "toy" else "words"
    plot(
        reports,
        f"{part}: BLEU by source length ({len(seeds)} seeds)",
        image,
        unit,
        102 if part == "toy" else 30,
    )
    _, bleu = length_table(reports, "bleu", 1.0)
    source, reference = long_example(*files)
    attention = [name for name in models if name != "rnn-none"]
    shown = pool.run_all(
        [
            (
                [
                    *("attention", "-m", str(models[name][0]), source, reference),
                    "--attention-level",
                    "word",
                ],
                None,
            )
            for name in attention
        ],
        NO_COLOR="1",
        COLUMNS="160",
    )
    heatmaps = [
        f"**{name}** (seed {seeds[0]}, forced decoding of the reference):\n\n```\n{text.rstrip()}\n```\n"
        for name, text in zip(attention, shown)
    ]
    title = (
        "Toy task: reversing 5–50 symbols" if part == "toy" else "Multi30k En→De (test_2016_flickr)"
    )
    headers = ["model", "parameters", "steps", "epochs", "training time", "target tokens/s"]
    text = "\n".join(
        [
            f"## {title}\n",
            f"Each model trained for {budget} of wall-clock time on one core ({machine()}; one "
            f"thread), once per seed ({', '.join(map(str, seeds))}), then translated the test set "
            "with beam 5. Training time is the mean over seeds; the rest mean ± sd.\n",
            tuning,
            table([*headers, "best val BLEU"], training_rows(models)),
            "",
            "### BLEU by source length\n",
            f"![BLEU by source length]({image.relative_to(docs)})\n",
            f"Test BLEU (beam 5) by source length ({unit}), mean ± sd over seeds:\n",
            bleu,
            "",
            "### Where each model looks on the longest test sentence\n",
            *heatmaps,
        ]
    )
    return text, pool.busy - start, time.perf_counter() - wall


def main() -> None:
    """Run the experiment and write the document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", default="2m", help="training time per model")
    parser.add_argument("--parts", default="multi30k")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of each model")
    parser.add_argument("--cpus", default="0", help="CPUs for the runs, one run (one thread) each")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "experiments.md")
    parser.add_argument(
        "--notes",
        type=Path,
        help="Markdown to include after the introduction (the reading of the results)",
    )
    parser.add_argument("--lab-budget", default="2m", help="training time per laboratory run")
    parser.add_argument("--lab-cpus", default="0", help="CPUs for laboratory runs, one run each")
    parser.add_argument("--lab-notes", type=Path, default=REPO / "bench" / "lab_notes.md")
    args = parser.parse_args()
    parts = args.parts.split(",")
    laboratory = [p for p in parts if p in LAB_PARTS]
    if laboratory:  # its own block of the document, regenerated in place (bench.lab)
        write_lab(
            args.output, laboratory, args.lab_budget, args.seeds, args.lab_cpus, args.lab_notes
        )
        if len(laboratory) == len(parts):
            return
        parts = [p for p in parts if p not in LAB_PARTS]
    pool = Pool(args.cpus.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    sections, spent = [], []
    for part in parts:
        text, seconds, wall = part_section(pool, part, args.budget, seeds, args.output.parent)
        sections.append(text)
        spent.append(f"{part} {seconds / 60:.0f} min ({wall / 60:.0f} min of wall time)")
    command = f"python -m bench.experiments --budget {args.budget} --parts {','.join(parts)}"
    command += f" --seeds {args.seeds} --cpus {args.cpus}"
    intro = (
        "# The bottleneck experiment\n\n"
        "Sutskever et al. (2014) squeeze the whole source into the encoder's final state; Bahdanau "
        "et al. (2014, Figure 2) showed that this fixed-length context vector hurts long sentences "
        "and that attention removes the bottleneck. This document reproduces that shape with nmtcli "
        "and adds a Transformer. Generated by:\n\n"
        f"```\n{command}" + (f" --notes {args.notes}" if args.notes else "") + "\n```\n\n"
        f"CPU time on one core (training, translation and scoring): {', '.join(spent)}, "
        f"{len(pool.cpus)} run(s) at a time on {machine()}.\n"
    )
    commands = "## Commands\n\n```\n" + "\n".join(pool.commands) + "\n```\n"
    notes = [args.notes.read_text(encoding="utf-8")] if args.notes else []
    document = "\n".join([intro, *notes, *sections, commands])
    old = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
    if START in old and END in old:  # keep the laboratory's block, regenerated on its own
        document = replace_block(document, START + old.split(START, 1)[1].split(END, 1)[0] + END)
    args.output.write_text(document, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
