"""The bottleneck experiment: fixed context vs attention vs Transformer, by sentence length.

Usage: python -m bench.experiments [--budget 5m] [--parts toy,multi30k] [--threads 1] [--cpus 0]
                                   [--output docs/experiments.md]
       python -m bench.experiments --parts copy,reverse,exposure [--lab-budget 2m]
                                   [--seeds 1,2,3] [--lab-cpus 0,1]   (bench.lab: its own block)

For each part, trains `rnn --attention none`, `rnn --attention bahdanau`, `rnn --attention
general` and a Transformer of comparable size for the same wall-clock budget, then compares them
per source-length bucket with `nmtcli compare` (table, chart and a PNG plot), shows each
attention model's heatmap for one long test sentence, and reports training time and tokens/s.
Everything it reports comes from the commands it prints; it writes the Markdown document.

- toy: `nmtcli toy reverse` with sources of 5–50 symbols (20,000 training pairs, 500 test pairs).
- multi30k: Multi30k En→De (select on val, report on test_2016_flickr).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import subprocess
from pathlib import Path

from bench.common import MULTI30K, REPO, WORK, machine, nmtcli, read_metrics, table
from bench.lab import END, FAMILIES, LAB_PARTS, START, replace_block, write_lab

MODELS = FAMILIES  # the laboratory's four model families (bench.lab)
# Comparable parameter counts: toy about 0.7–1.4M (RNN 256 units, Transformer 3+3 layers of 128),
# Multi30k about 7.1–7.7M (RNN 256 units, Transformer 3+3 layers of 256) with an 8k vocabulary.
# Each architecture keeps its usual optimiser (the RNNs Adam 1e-3; the Transformer warm-up then
# inverse square root), with the warm-up shortened to fit a budget of minutes: the default 1,000
# steps would leave a 5–10-minute Transformer still warming up. The toy task uses batches of
# 2,048 tokens so that every model gets a few hundred updates.
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
        "transformer": [
            *["--layers", "3", "--d-model", "256", "--heads", "4", "--ff-size", "1024"],
            *["--warmup", "300"],
        ],
    },
}


class Lab:
    """Runs commands (pinned and threaded as asked), remembering them for the document."""

    def __init__(self, threads: int | None, cpus: str | None) -> None:
        self.env = {**os.environ}
        if threads:
            self.env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        self.prefix = ["taskset", "-c", cpus] if cpus else []
        self.commands: list[str] = []

    @staticmethod
    def shown(args: list[str]) -> str:
        """The command line as the document shows it (paths relative to the repository)."""
        return " ".join(shlex.quote(str(a)) for a in ["nmtcli", *args]).replace(f"{REPO}/", "")

    def run(
        self, args: list[str], stdout: Path | None = None, record: bool = True, **extra_env: str
    ) -> str:
        """Run nmtcli with `args`; return its stdout (also written to `stdout` if given)."""
        command = [*self.prefix, nmtcli(), *args]
        shown = self.shown(args)
        if record:
            self.commands.append(shown + (f" > {stdout.name}" if stdout else ""))
        print("$", shown, flush=True)
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=REPO, env=self.env | extra_env
        )
        if done.returncode != 0:
            raise RuntimeError(f"{shown} failed:\n{done.stderr[-3000:]}")
        if stdout is not None:
            stdout.write_text(done.stdout, encoding="utf-8")
        return done.stdout


def toy_data(lab: Lab, root: Path) -> tuple[list[str], Path, Path | None]:
    """Training and test corpora for the reverse task (sources of 5–50 symbols)."""
    common = ["--min-len", "5", "--max-len", "50", "--vocab-size", "30"]
    lab.run(
        ["toy", "reverse", "--size", "20000", "--seed", "1", *common], stdout=root / "train.tsv"
    )
    lab.run(["toy", "reverse", "--size", "1000", "--seed", "2", *common], stdout=root / "valid.tsv")
    lab.run(["toy", "reverse", "--size", "500", "--seed", "3", *common], stdout=root / "test.tsv")
    data = [
        str(root / "train.tsv"),
        "--valid",
        str(root / "valid.tsv"),
        "--vocab-size",
        "40",
        "--valid-bleu-sentences",
        "300",
    ]
    return data, root / "test.tsv", None


def multi30k_data(root: Path) -> tuple[list[str], Path, Path]:
    """Multi30k En→De training/validation options and the test_2016_flickr files."""
    test_src, test_ref = root / "test_2016_flickr.en", root / "test_2016_flickr.de"
    for path, name in ((test_src, "en"), (test_ref, "de")):
        with gzip.open(MULTI30K / f"test_2016_flickr.{name}.gz", "rt", encoding="utf-8") as handle:
            path.write_text(handle.read(), encoding="utf-8")
    data = [
        "--src-file",
        str(MULTI30K / "train.en.gz"),
        "--tgt-file",
        str(MULTI30K / "train.de.gz"),
        "--valid-src-file",
        str(MULTI30K / "val.en.gz"),
        "--valid-tgt-file",
        str(MULTI30K / "val.de.gz"),
        "--vocab-size",
        "8000",
        "--valid-bleu-sentences",
        "1014",
    ]
    return data, test_src, test_ref


def train_models(lab: Lab, part: str, data: list[str], root: Path, budget: str) -> dict[str, Path]:
    """Train the four models with the same budget; reuse finished ones."""
    models = {}
    for name, arch in MODELS.items():
        output = root / name
        size = SIZES[part]["transformer" if name == "transformer" else "rnn"]
        args = [
            "train",
            *data,
            "-o",
            str(output),
            "--force",
            *arch,
            *size,
            "--max-time",
            budget,
            "--max-epochs",
            "1000",
            "--patience",
            "0",
            "--log-every",
            "60",
            "--seed",
            "1",
            "--no-transforms",  # the laboratory compares architectures on the data as it is
        ]
        if (output / "model.safetensors").is_file():
            lab.commands.append(lab.shown(args) + "   # (trained by an earlier run, reused)")
        else:
            lab.run(args)
        models[name] = output
    return models


def training_rows(models: dict[str, Path]) -> list[list[str]]:
    """Parameters, steps, time and throughput of each model."""
    rows = []
    for name, path in models.items():
        records = read_metrics(path)
        last, best = records[-1], max(records, key=lambda r: r["valid_bleu"])
        info = json.loads(
            subprocess.run(
                [nmtcli(), "info", str(path), "-f", "json"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        rate = last["tokens"] / max(last["train_seconds"], 1e-9)
        rows.append(
            [
                name,
                f"{info['parameters']:,}",
                f"{last['step']:,}",
                f"{last['epoch']:.1f}",
                f"{last['train_seconds'] / 60:.1f} min",
                f"{rate:,.0f}",
                f"{best['valid_bleu']:.1f} (step {best['step']:,})",
            ]
        )
    return rows


def long_example(test: Path, ref: Path | None) -> tuple[str, str]:
    """The longest test source (and its reference) for the heatmaps."""
    if ref is None:
        pairs = [line.split("\t") for line in test.read_text(encoding="utf-8").splitlines()]
    else:
        pairs = list(
            zip(
                test.read_text(encoding="utf-8").splitlines(),
                ref.read_text(encoding="utf-8").splitlines(),
            )
        )
    source, reference = max(pairs, key=lambda p: len(p[0].split()))
    return source, reference


def part_section(lab: Lab, part: str, budget: str, docs: Path) -> str:
    """Train, compare and describe one part; return its Markdown."""
    root = WORK / "experiments" / part
    root.mkdir(parents=True, exist_ok=True)
    data, test, ref = toy_data(lab, root) if part == "toy" else multi30k_data(root)
    models = train_models(lab, part, data, root, budget)
    plot = docs / "img" / f"experiment-{part}-bleu.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    test_args = [str(test)] if ref is None else ["--src-file", str(test), "--ref-file", str(ref)]
    model_args = [a for path in models.values() for a in ("-m", str(path))]
    width = "10" if part == "toy" else "5"
    compare = lab.run(
        [
            "compare",
            *model_args,
            *test_args,
            "--bucket-width",
            width,
            "--bucket-max",
            "50" if part == "toy" else "25",
            "-k",
            "5",
            "--plot",
            str(plot),
        ],
        NO_COLOR="1",
        COLUMNS="100",
    )
    source, reference = long_example(test, ref)
    heatmaps = []
    for name, path in models.items():
        if name == "rnn-none":
            continue
        shown = lab.run(
            ["attention", "-m", str(path), source, reference, "--attention-level", "word"],
            NO_COLOR="1",
            COLUMNS="160",
        )
        heatmaps.append(
            f"**{name}** (forced decoding of the reference):\n\n```\n{shown.rstrip()}\n```\n"
        )
    rows = training_rows(models)
    title = (
        "Toy task: reversing 5–50 symbols" if part == "toy" else "Multi30k En→De (test_2016_flickr)"
    )
    return "\n".join(
        [
            f"## {title}\n",
            f"Each model trained for {budget} of wall-clock time ({machine()}; "
            f"{lab.env.get('OMP_NUM_THREADS', 'default')} thread(s)), then translated the test set with beam 5.\n",
            table(
                [
                    "model",
                    "parameters",
                    "steps",
                    "epochs",
                    "training time",
                    "target tokens/s",
                    "best val BLEU",
                ],
                rows,
            ),
            "",
            "### BLEU by source length\n",
            f"![BLEU by source length]({plot.relative_to(docs)})\n",
            "```\n" + compare.rstrip() + "\n```\n",
            "### Where each model looks on the longest test sentence\n",
            *heatmaps,
        ]
    )


def main() -> None:
    """Run the experiment and write the document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", default="5m", help="training time per model")
    parser.add_argument("--parts", default="toy,multi30k")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--cpus")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "experiments.md")
    parser.add_argument(
        "--notes",
        type=Path,
        help="Markdown to include after the introduction (the reading of the results)",
    )
    parser.add_argument("--lab-budget", default="2m", help="training time per laboratory run")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of each laboratory model")
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
    lab = Lab(args.threads, args.cpus)
    sections = [part_section(lab, part, args.budget, args.output.parent) for part in parts]
    intro = (
        "# The bottleneck experiment\n\n"
        "Sutskever et al. (2014) squeeze the whole source into the encoder's final state; Bahdanau "
        "et al. (2014, Figure 2) showed that this fixed-length context vector hurts long sentences "
        "and that attention removes the bottleneck. This document reproduces that shape with nmtcli "
        "and adds a Transformer. Generated by:\n\n"
        f"```\npython -m bench.experiments --budget {args.budget} --parts {args.parts}"
        + (f" --threads {args.threads}" if args.threads else "")
        + (f" --cpus {args.cpus}" if args.cpus else "")
        + (f" --notes {args.notes}" if args.notes else "")
        + "\n```\n"
    )
    commands = "## Commands\n\n```\n" + "\n".join(lab.commands) + "\n```\n"
    notes = [args.notes.read_text(encoding="utf-8")] if args.notes else []
    document = "\n".join([intro, *notes, *sections, commands])
    old = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
    if START in old and END in old:  # keep the laboratory's block, regenerated on its own
        document = replace_block(document, START + old.split(START, 1)[1].split(END, 1)[0] + END)
    args.output.write_text(document, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
