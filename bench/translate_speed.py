"""Translation throughput: sentences/s and target tokens/s, greedy and beam 5, batch 1 and 64.

Usage: python -m bench.translate_speed -m MODEL_DIR INPUT [INPUT ...] [--repeats 3] [--limit N]
           [--precisions fp32,bf16,int8,ct2-float32,ct2-int8,int8+tcmalloc] [--batches 1,64]
           [--references REF [REF ...]]
Each figure is the median of `--repeats` runs of the whole `nmtcli translate` command (start-up
and model loading included, as a user experiences it); peak memory is the process's RSS. With
several `--precisions`, each setting runs in every precision one after the other (repeats
interleaved), and the last column is the speed relative to the first precision, in this run.
`ct2-Q` is the CTranslate2 engine on the model exported with `--quantization Q` (exported once
into .bench/); `P+tcmalloc` (or `+jemalloc`) runs precision P with that allocator preloaded
(LD_PRELOAD; the library must be installed, e.g. Debian's libtcmalloc-minimal4); with
`--references` (one per input) a BLEU column scores the first run's output.
"""

from __future__ import annotations

import argparse
import ctypes.util
import functools
import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import WORK, machine, measure, median, nmtcli, pin, publish, table

SEARCHES = [("greedy", 1), ("beam 5", 5)]
ALLOCATORS = {"tcmalloc": "tcmalloc_minimal", "jemalloc": "jemalloc"}  # name: its library


@functools.cache  # find_library runs ldconfig: once per setting, not once per run
def allocator_env(setting: str) -> tuple[str, dict[str, str]]:
    """A setting's precision and environment: `P+tcmalloc` preloads tcmalloc for precision P."""
    precision, _, allocator = setting.partition("+")
    if not allocator:
        return precision, {}
    if allocator not in ALLOCATORS:
        raise SystemExit(f"{setting}: unknown allocator (one of {', '.join(ALLOCATORS)})")
    library = ctypes.util.find_library(ALLOCATORS[allocator])
    if library is None:
        raise SystemExit(f"{setting}: lib{ALLOCATORS[allocator]} is not installed")
    return precision, {"LD_PRELOAD": library}


def engine_model(model: Path, precision: str) -> tuple[Path, list[str]]:
    """The model directory and precision flags of a setting (`ct2-Q`: a CTranslate2 export)."""
    if not precision.startswith("ct2-"):
        return model, ["--precision", precision]
    quantization = precision.removeprefix("ct2-")
    weights = (model / "model.safetensors").stat()  # a retrained model gets a fresh export
    exported = WORK / f"ct2-{model.resolve().name}-{quantization}-{weights.st_mtime_ns}"
    if not (exported / "model.bin").is_file():
        command = [nmtcli(), "export", str(model), str(exported), "--format", "ctranslate2"]
        subprocess.run([*command, "--quantization", quantization, "--force"], check=True)
    return exported, []


def translate_once(
    model: Path, source: Path, beam: int, batch: int, precision: str
) -> tuple[float, float, int, list[str]]:
    """(seconds, peak MB, output pieces, translations) of one `nmtcli translate` run."""
    precision, env = allocator_env(precision)
    model, flags = engine_model(model, precision)
    command = [
        nmtcli(),
        "translate",
        "--no-split",  # the figures measure search, as they did before splitting existed
        "-m",
        str(model),
        "-k",
        str(beam),
        "--batch-size",
        str(batch),
        "-f",
        "json",
        "--device",
        "cpu",
        *flags,
    ]
    run = measure(command, stdin=source, env=env)
    outputs = [json.loads(line) for line in run.stdout.splitlines()]
    pieces = sum(len(output["pieces"]) + 1 for output in outputs)
    return run.seconds, run.peak_mb, pieces, [output["translation"] for output in outputs]


def bench_file(
    model: Path,
    source: Path,
    repeats: int,
    limit: int | None,
    precisions: list[str],
    batches: list[int],
    reference: Path | None = None,
) -> list[list[str]]:
    """Rows for one input file."""
    lines = source.read_text(encoding="utf-8").splitlines()[:limit]
    references = reference.read_text(encoding="utf-8").splitlines()[:limit] if reference else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "input.txt"
        sample.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for name, beam in SEARCHES:
            for batch in batches:
                runs: dict[str, list[tuple[float, float, int, list[str]]]] = {
                    p: [] for p in precisions
                }
                for _ in range(repeats):
                    for precision in precisions:
                        runs[precision].append(
                            translate_once(model, sample, beam, batch, precision)
                        )
                baseline = median([r[0] for r in runs[precisions[0]]])
                for precision, done in runs.items():
                    seconds = median([r[0] for r in done])
                    rows.append(
                        [
                            source.name,
                            f"{len(lines):,}",
                            name,
                            str(batch),
                            precision,
                            f"{seconds:.2f} s",
                            f"{len(lines) / seconds:,.1f}",
                            f"{done[0][2] / seconds:,.0f}",
                            f"{max(r[1] for r in done):,.0f} MB",
                            *([_bleu(done[0][3], references)] if references else []),
                            f"{baseline / seconds:.2f}×",
                        ]
                    )
                    print(" | ".join(rows[-1]), flush=True)
    return rows


def _bleu(hypotheses: list[str], references: list[str]) -> str:
    import sacrebleu

    return f"{sacrebleu.corpus_bleu(hypotheses, [references]).score:.2f}"


def main() -> None:
    """Print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-m", "--model", type=Path, required=True)
    parser.add_argument("inputs", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, help="translate only the first N lines")
    parser.add_argument(
        "--precisions", default="fp32", help="comma-separated, e.g. fp32,ct2-int8,int8+tcmalloc"
    )
    parser.add_argument("--references", type=Path, nargs="+", help="one per input: adds BLEU")
    parser.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--cpus", help="run pinned to these CPUs (taskset -c)")
    args = parser.parse_args()
    for precision in args.precisions.split(","):
        allocator_env(precision)  # an unknown or missing allocator stops before any run
    setting = pin(args.threads, args.cpus)
    rows = []
    references = args.references or [None] * len(args.inputs)
    for source, reference in zip(args.inputs, references, strict=True):
        rows += bench_file(
            args.model,
            source,
            args.repeats,
            args.limit,
            args.precisions.split(","),
            [int(b) for b in args.batches.split(",")],
            reference,
        )
    headers = [
        "input",
        "sentences",
        "search",
        "batch",
        "precision",
        "wall time",
        "sentences/s",
        "target tokens/s",
        "peak RSS",
        *(["BLEU"] if args.references else []),
        f"speed vs {args.precisions.split(',')[0]}",
    ]
    header = f"Translation speed of {args.model.name} (whole command, model load included), median of {args.repeats}; {machine()}; {setting}"
    result = table(headers, rows)
    publish(header, result, args.markdown)


if __name__ == "__main__":
    main()
