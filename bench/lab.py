"""Laboratory v2: the seed's toy experiments with settings chosen on validation data, 3 seeds.

Parts (each a section of docs/experiments.md, through `python -m bench.experiments --parts`):

- copy, reverse: for each model family (RNN with no attention, Bahdanau or Luong `general`
  attention; a Transformer) a small grid of learning rates (and, for the Transformer, warm-ups),
  every setting trained with every seed for the same wall-clock budget; the setting with the best
  mean validation BLEU on that task is chosen, and its runs give the task's test BLEU and exact
  match by source length (beam 5), mean ± sd over seeds. The test sets are never used to choose.
- exposure: exposure bias. The Bahdanau RNN on reverse (its setting chosen there), trained
  with teacher forcing 1.0 against scheduled sampling (a share of the decoder's inputs
  replaced by its own predictions), 3 seeds each; per output position, the accuracy of free-running greedy output against the
  teacher-forced accuracy on the same test pairs. The gap between the two is exposure bias:
  what the model gets right when fed the reference but wrong when fed its own output.

Runs are pinned one per CPU (`--cpus 0,1` runs two at a time), one thread each, and reused when
their model directory is complete.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO, WORK, nmtcli, read_metrics, table

ROOT = Path(os.environ.get("NMTCLI_LAB_ROOT", WORK / "lab"))  # where runs are kept
LENGTHS = ["--min-len", "5", "--max-len", "50", "--vocab-size", "30"]
BUCKETS = ["--bucket-width", "10", "--bucket-max", "50"]
FAMILIES = {
    "rnn-none": ["--arch", "rnn", "--attention", "none"],
    "rnn-bahdanau": ["--arch", "rnn", "--attention", "bahdanau"],
    "rnn-general": ["--arch", "rnn", "--attention", "general"],
    "transformer": ["--arch", "transformer"],
}
# Sizes: 0.2–0.3M parameters each (RNN: 64-dim embeddings, 128 units; Transformer: 2+2 layers
# of 64, 4 heads, feed-forward 256), small enough for hundreds of updates a minute on one core.
SIZES = {
    "rnn": ["--emb-size", "64", "--hidden-size", "128"],
    "transformer": ["--layers", "2", "--d-model", "64", "--heads", "4", "--ff-size", "256"],
}
GRID = {  # the settings tried per family; the first of each is nmtcli's default
    "rnn": {"lr 1e-3": ["--lr", "1e-3"], "lr 3e-3": ["--lr", "3e-3"]},
    "transformer": {
        "lr 7e-4, warm-up 1000": ["--lr", "7e-4", "--warmup", "1000"],
        "lr 7e-4, warm-up 200": ["--lr", "7e-4", "--warmup", "200"],
        "lr 2e-3, warm-up 200": ["--lr", "2e-3", "--warmup", "200"],
    },
}
COMMON = [
    *("--batch-tokens", "1024", "--max-epochs", "1000", "--patience", "0", "--no-transforms"),
    *("--valid-every", "150", "--valid-bleu-sentences", "200", "--vocab-size", "40"),
    *("--log-every", "100000"),
]
EXPOSURE_FAMILY = "rnn-bahdanau"
TEACHER_FORCING = {"teacher forcing 1.0": "1.0", "scheduled sampling 0.75": "0.75"}


def kind(family: str) -> str:
    """`rnn` or `transformer`: which sizes and grid a family takes."""
    return "transformer" if family == "transformer" else "rnn"


@dataclass
class Pool:
    """Runs nmtcli commands, one per CPU at a time, remembering them for the document."""

    cpus: list[str]
    commands: list[str] = field(default_factory=list)
    busy: float = 0.0  # seconds of one-core work: each job's duration, reused runs' training

    def run_all(self, jobs: list[tuple[list[str], Path | None]], **extra_env: str) -> list[str]:
        """Run (arguments, stdout file) jobs in parallel; their stdouts, in order."""
        free: queue.Queue[str] = queue.Queue()
        lock = threading.Lock()
        for cpu in self.cpus:
            free.put(cpu)

        def one(job: tuple[list[str], Path | None]) -> str:
            args, out = job
            cpu = free.get()
            try:
                env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} | extra_env
                print("$", shown(args), flush=True)
                started = time.perf_counter()
                done = subprocess.run(
                    ["taskset", "-c", cpu, nmtcli(), *args],
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=REPO,
                )
            finally:
                free.put(cpu)
            with lock:
                self.busy += time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{shown(args)} failed:\n{done.stderr[-2000:]}")
            if out is not None:
                out.write_text(done.stdout, encoding="utf-8")
            return done.stdout

        self.commands += [shown(args) + (f" > {out.name}" if out else "") for args, out in jobs]
        with ThreadPoolExecutor(len(self.cpus)) as executor:
            return list(executor.map(one, jobs))

    def train_all(self, runs: dict[Path, list[str]]) -> None:
        """Train each model directory with its options, unless a finished run is there already.

        A reused run counts its own training clock (validation included) into `self.busy`.
        """
        todo = [(a, None) for d, a in runs.items() if not finished(d, a)]
        reused = [shown(a) + "   # (reused)" for d, a in runs.items() if finished(d, a)]
        self.commands += reused
        self.busy += sum(
            read_metrics(d)[-1]["train_seconds"] for d, a in runs.items() if finished(d, a)
        )
        if todo:
            self.run_all(todo)


def finished(model: Path, args: list[str]) -> bool:
    """Whether `model` holds a run of this `--max-time` that reached it (not an interrupted one,
    nor a run of another budget)."""
    records, config = read_metrics(model), model / "config.json"
    budget = args[args.index("--max-time") + 1]
    seconds = float(budget[:-1]) * {"s": 1, "m": 60, "h": 3600}[budget[-1]]
    if not records or not config.is_file():
        return False
    planned = json.loads(config.read_text(encoding="utf-8"))["train"]["max_time"]
    return planned == seconds and records[-1]["train_seconds"] >= 0.97 * seconds


def shown(args: list[str]) -> str:
    """A command as the document shows it (paths relative to the repository)."""
    return " ".join(["nmtcli", *map(str, args)]).replace(f"{REPO}/", "")


def task_data(pool: Pool, task: str) -> Path:
    """The task's train (20,000), valid (1,000) and test (500) pairs, written once."""
    root = ROOT / task
    root.mkdir(parents=True, exist_ok=True)
    sets = {"train": ("20000", "1"), "valid": ("1000", "2"), "test": ("500", "3")}
    jobs = [
        (["toy", task, "--size", size, "--seed", seed, *LENGTHS], root / f"{name}.tsv")
        for name, (size, seed) in sets.items()
        if not (root / f"{name}.tsv").is_file()
    ]
    if jobs:
        pool.run_all(jobs)
    return root


def train_args(
    root: Path, output: Path, family: str, setting: list[str], seed: int, budget: str
) -> list[str]:
    """The `nmtcli train` arguments of one run."""
    return [
        *("train", str(root / "train.tsv"), "--valid", str(root / "valid.tsv")),
        *("-o", str(output), "--force", "--seed", str(seed), "--max-time", budget),
        *FAMILIES[family],
        *SIZES[kind(family)],
        *setting,
        *COMMON,
    ]


def best_valid(model: Path) -> tuple[float, int]:
    """A run's best validation BLEU and the number of updates it made."""
    records = read_metrics(model)
    return max(r["valid_bleu"] for r in records), records[-1]["step"]


def tune(
    pool: Pool, task: str, seeds: list[int], budget: str
) -> tuple[dict[str, str], dict[str, list[Path]], str]:
    """Each family's setting chosen on `task`'s validation set, its runs, and the tuning table."""
    root = task_data(pool, task)

    def run(path: Path, family: str, label: str, seed: int) -> list[str]:
        return train_args(root, path, family, GRID[kind(family)][label], seed, budget)

    where = f"{task}'s validation set (1,000 validation pairs, never the test set)"
    chosen, paths, rows = choose_settings(pool, root, GRID, run, seeds)
    return chosen, paths, tuning_text(rows, where, seeds, budget, "is nmtcli's default")


def choose_settings(
    pool: Pool,
    root: Path,
    grid: dict[str, dict[str, list[str]]],
    run: Callable[[Path, str, str, int], list[str]],
    seeds: list[int],
) -> tuple[dict[str, str], dict[str, list[Path]], list[list[str]]]:
    """Each family's setting chosen on validation: the choices, the chosen runs, the table rows.

    Every setting of `grid` (per `kind` of family) is trained with every seed (`run` gives the
    `nmtcli train` arguments of a run directory, family, setting and seed); the setting with the
    best mean validation BLEU is chosen, and its runs are the ones the results come from.
    """
    runs = {
        (family, label, seed): root / f"tune.{family}.{slug(label)}.s{seed}"
        for seed in seeds  # seed-major: every setting sees the same machine load, seed by seed
        for family in FAMILIES
        for label in grid[kind(family)]
    }
    pool.train_all({path: run(path, *key) for key, path in runs.items()})
    chosen, paths, rows = {}, {}, []
    for family in FAMILIES:
        scores = {
            label: [best_valid(runs[family, label, seed]) for seed in seeds]
            for label in grid[kind(family)]
        }
        chosen[family] = max(scores, key=lambda label: statistics.mean(b for b, _ in scores[label]))
        paths[family] = [runs[family, chosen[family], seed] for seed in seeds]
        for label, results in scores.items():
            mark = " **(chosen)**" if label == chosen[family] else ""
            updates = mean_sd([float(steps) for _, steps in results], digits=0)
            rows.append([family, label + mark, updates, mean_sd([b for b, _ in results])])
    return chosen, paths, rows


def tuning_text(
    rows: list[list[str]], where: str, seeds: list[int], budget: str, first: str
) -> str:
    """The tuning table with what it shows: `where` validation was, what the `first` setting is."""
    headers = ["model", "setting", "updates", "best validation BLEU"]
    return (
        f"Settings chosen on {where}: each family trained every setting below with each of the "
        f"{len(seeds)} seeds ({budget} per run); the setting with the best mean validation BLEU "
        f"is the one whose runs the results come from. The first setting of each family {first}. "
        "Mean ± sd over seeds:\n\n" + table(headers, rows) + "\n"
    )


def slug(label: str) -> str:
    """A label as part of a file name."""
    return "".join(c if c.isalnum() else "-" for c in label).strip("-")


def mean_sd(values: list[float], digits: int = 1) -> str:
    """`mean ± sd` of per-seed values."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):,.{digits}f} ± {sd:,.{digits}f}"


def evaluations(
    pool: Pool, test: list[str], paths: dict[str, list[Path]], buckets: list[str] = BUCKETS
) -> dict[str, list[dict]]:
    """Test-set reports (beam 5, by source length) of every run; `test` names the test set."""
    jobs = [
        (["evaluate", "-m", str(p), *test, "-k", "5", "--by-length", *buckets, "-f", "json"], None)
        for runs in paths.values()
        for p in runs
    ]
    outputs = iter(pool.run_all(jobs))
    return {family: [json.loads(next(outputs)) for _ in runs] for family, runs in paths.items()}


def length_table(
    reports: dict[str, list[dict]], metric: str, scale: float
) -> tuple[list[str], str]:
    """Per family, the metric per length bucket and overall, mean ± sd over seeds."""
    labels = [b["label"] for b in next(iter(reports.values()))[0]["buckets"]]
    rows = []
    for family, runs in reports.items():
        cells = [
            mean_sd([r["buckets"][i][metric] * scale for r in runs]) for i in range(len(labels))
        ]
        rows.append([family, *cells, mean_sd([r["overall"][metric] * scale for r in runs])])
    return labels, table(["model", *labels, "all"], rows)


def plot(
    reports: dict[str, list[dict]], title: str, path: Path, unit: str = "symbols", top: float = 102
) -> None:
    """BLEU by source length, mean with error bars (sd) over seeds, one line per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for family, runs in reports.items():
        labels = [b["label"] for b in runs[0]["buckets"]]
        values = [[r["buckets"][i]["bleu"] for r in runs] for i in range(len(labels))]
        means = [statistics.mean(v) for v in values]
        sds = [statistics.stdev(v) if len(v) > 1 else 0 for v in values]
        axes.errorbar(labels, means, yerr=sds, marker="o", capsize=3, label=family)
    axes.set(
        title=title, xlabel=f"source length ({unit})", ylabel="test BLEU (beam 5)", ylim=(0, top)
    )
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def task_section(
    pool: Pool, task: str, seeds: list[int], budget: str, docs: Path
) -> tuple[dict[str, str], str]:
    """Choose each family's setting on `task` and evaluate its runs: the choices, the Markdown."""
    chosen, paths, tuning = tune(pool, task, seeds, budget)
    reports = evaluations(pool, [str(ROOT / task / "test.tsv")], paths)
    image = docs / "img" / f"lab-{task}-bleu.png"
    plot(reports, f"{task}: BLEU by source length ({len(seeds)} seeds)", image)
    _, bleu = length_table(reports, "bleu", 1.0)
    _, exact = length_table(reports, "exact_match", 100.0)
    markdown = "\n".join(
        [
            f"### {task.capitalize()}: 5–50 symbols, {budget} per run, {len(seeds)} seeds\n",
            tuning,
            f"![BLEU by source length]({image.relative_to(docs)})\n",
            "Test BLEU (beam 5) by source length of each family's chosen setting, mean ± sd over "
            "seeds:\n",
            bleu,
            "\nExact match (% of test sentences), mean ± sd:\n",
            exact,
            "",
        ]
    )
    return chosen, markdown


POSITION_SCRIPT = REPO / "bench" / "position_accuracy.py"


def exposure_section(pool: Pool, label: str, seeds: list[int], budget: str, docs: Path) -> str:
    """Teacher forcing against scheduled sampling (the Bahdanau RNN with its setting `label`,
    chosen on reverse): accuracy by output position."""
    root = task_data(pool, "reverse")
    setting = GRID["rnn"][label]
    runs = {
        (name, seed): root / f"exposure.{slug(name)}.s{seed}"
        for seed in seeds  # seed-major: both kinds see the same machine load, run by run
        for name in TEACHER_FORCING
    }
    pool.train_all(
        {
            path: train_args(
                root,
                path,
                EXPOSURE_FAMILY,
                [*setting, "--teacher-forcing", TEACHER_FORCING[name]],
                seed,
                budget,
            )
            for (name, seed), path in runs.items()
        }
    )
    started = time.perf_counter()
    results = {key: position_accuracy(path, root / "test.tsv") for key, path in runs.items()}
    pool.busy += time.perf_counter() - started
    plot_positions(results, seeds, docs / "img" / "lab-exposure.png")
    return exposure_markdown(results, seeds, budget)


def position_accuracy(model: Path, test: Path) -> dict:
    """Free-running and teacher-forced accuracy by output position (bench.position_accuracy)."""
    cached = model / "position-accuracy.json"
    if not cached.is_file():
        done = subprocess.run(
            [sys.executable, "-m", "bench.position_accuracy", str(model), str(test)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env=os.environ | {"OMP_NUM_THREADS": "1"},
        )
        cached.write_text(done.stdout, encoding="utf-8")
    return json.loads(cached.read_text(encoding="utf-8"))


def plot_positions(results: dict, seeds: list[int], path: Path) -> None:
    """Accuracy by output position, free-running and teacher-forced, per training (mean ± sd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buckets = results[next(iter(results))]["buckets"]
    figure, axes = plt.subplots(figsize=(7, 4))
    for name in TEACHER_FORCING:
        for measure, style in (("forced", "--"), ("free", "-")):
            values = [
                [100 * results[name, s][measure][i] for s in seeds] for i in range(len(buckets))
            ]
            means = [statistics.mean(v) for v in values]
            sds = [statistics.stdev(v) if len(v) > 1 else 0 for v in values]
            label = f"{name}, {'teacher-forced' if measure == 'forced' else 'free-running'}"
            axes.errorbar(
                buckets, means, yerr=sds, linestyle=style, marker="o", capsize=3, label=label
            )
    axes.set(
        title="reverse: accuracy by output position", xlabel="output position", ylabel="% right"
    )
    axes.set_ylim(0, 102)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def exposure_markdown(results: dict, seeds: list[int], budget: str) -> str:
    """The exposure-bias section: per position bucket, both accuracies; the effect size."""
    buckets = results[next(iter(results))]["buckets"]
    rows = []
    for name in TEACHER_FORCING:
        for measure in ("free", "forced"):
            cells = [
                mean_sd([100 * results[name, s][measure][i] for s in seeds])
                for i in range(len(buckets))
            ]
            rows.append([name, "free-running" if measure == "free" else "teacher-forced", *cells])
    late = {
        name: [100 * statistics.mean(results[name, s]["free"][-2:]) for s in seeds]
        for name in TEACHER_FORCING
    }
    names = list(TEACHER_FORCING)
    a, b = late[names[0]], late[names[1]]
    pooled = (
        ((statistics.variance(a) + statistics.variance(b)) / 2) ** 0.5 if len(seeds) > 1 else 0.0
    )
    difference = statistics.mean(b) - statistics.mean(a)
    effect = difference / pooled if pooled else float("nan")
    exact = [
        [
            name,
            mean_sd([100 * results[name, s]["exact"] for s in seeds]),
            mean_sd([results[name, s]["bleu"] for s in seeds]),
        ]
        for name in TEACHER_FORCING
    ]
    return "\n".join(
        [
            f"### Exposure bias: teacher forcing against scheduled sampling ({budget} per run, {len(seeds)} seeds)\n",
            f"The {EXPOSURE_FAMILY} model (its chosen setting) on reverse (5–50 symbols). Accuracy "
            "by output position, % of test sentences long enough to have that position whose "
            "output symbol there is right: free-running (greedy, fed its own output) and "
            "teacher-forced (fed the reference prefix), mean ± sd over seeds:\n",
            "![accuracy by output position](img/lab-exposure.png)\n",
            table(["training", "decoding", *buckets], rows),
            "",
            f"Free-running accuracy over positions {buckets[-2].split('–')[0]}–{buckets[-1].split('–')[-1]}: "
            f"{names[1]} minus {names[0]} = {difference:+.1f} points "
            f"(Cohen's d = {effect:.2f} over {len(seeds)} seeds each).\n",
            table(["training", "exact match (%)", "BLEU (greedy)"], exact),
            "",
        ]
    )


LAB_PARTS = ("copy", "reverse", "exposure")
START, END = (
    "<!-- lab: generated by bench.experiments --parts copy,reverse,exposure -->",
    "<!-- /lab -->",
)


def lab_block(
    parts: list[str], budget: str, seeds: list[int], cpus: list[str], docs: Path, notes: Path | None
) -> str:
    """The laboratory's sections (copy, reverse, exposure), timed, with commands."""
    from bench.common import machine

    pool, timings, sections = Pool(cpus), [], []
    chosen: dict[str, dict[str, str]] = {}  # per task, each family's setting
    for part in sorted(parts, key=LAB_PARTS.index):  # exposure takes the setting chosen on reverse
        start, wall = pool.busy, time.perf_counter()
        if part == "exposure":
            if "reverse" not in parts:
                raise SystemExit("the exposure part takes its setting from the reverse part")
            label = chosen["reverse"][EXPOSURE_FAMILY]
            sections.append(exposure_section(pool, label, seeds, budget, docs))
        else:
            chosen[part], section = task_section(pool, part, seeds, budget, docs)
            sections.append(section)
        timings.append((part, pool.busy - start, time.perf_counter() - wall))
    spent = ", ".join(
        f"{name} {busy / 60:.0f} min ({wall / 60:.0f} min of wall time)"
        for name, busy, wall in timings
    )
    header = (
        f"## Laboratory: the toy tasks with chosen settings and {len(seeds)} seeds\n\n"
        f"Generated by `python -m bench.experiments --parts {','.join(parts)} --lab-budget {budget} "
        f"--seeds {','.join(map(str, seeds))} --lab-cpus {','.join(cpus)}` on {machine()}, one "
        f"thread per run, {len(cpus)} run(s) at a time. CPU time of each part on one core (its "
        f"runs' training plus this invocation's translation and scoring): {spent}.\n"
    )
    reading = [notes.read_text(encoding="utf-8")] if notes and notes.is_file() else []
    commands = "#### Commands\n\n```\n" + "\n".join(pool.commands) + "\n```\n"
    return "\n".join([START, header, *reading, *sections, commands, END])


def replace_block(document: str, block: str) -> str:
    """`document` with its laboratory block replaced (or added before `## Commands`)."""
    if START in document and END in document:
        before, rest = document.split(START, 1)
        return before + block + rest.split(END, 1)[1]
    if "\n## Commands" in document:
        before, after = document.split("\n## Commands", 1)
        return before + "\n" + block + "\n\n## Commands" + after
    return document + "\n" + block + "\n"


def main() -> None:
    """Regenerate the laboratory block of docs/experiments.md (also `bench.experiments --parts`)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(LAB_PARTS))
    parser.add_argument("--budget", default="2m", help="training time per run")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--cpus", default="0", help="CPUs to run on, one run each")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "experiments.md")
    parser.add_argument("--notes", type=Path, default=REPO / "bench" / "lab_notes.md")
    args = parser.parse_args()
    write_lab(args.output, args.parts.split(","), args.budget, args.seeds, args.cpus, args.notes)


def write_lab(
    output: Path, parts: list[str], budget: str, seeds: str, cpus: str, notes: Path | None
) -> None:
    """Run the laboratory parts and put their block into the document `output`."""
    seed_list, cpu_list = [int(s) for s in seeds.split(",")], cpus.split(",")
    block = lab_block(parts, budget, seed_list, cpu_list, output.parent, notes)
    document = output.read_text(encoding="utf-8") if output.is_file() else ""
    output.write_text(replace_block(document, block), encoding="utf-8")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
