"""Which int8 path is fast on a CPU: PyTorch's torch.ao quantize_dynamic against torchao.

Usage: python -m bench.int8_backends [-m MODEL] [--limit 300] [--repeats 1] [--cpus 0]
Each backend runs in a fresh process (one torch thread): it loads the model, quantizes it and
translates the first `--limit` Tatoeba test sentences with beam 5, timing the search alone;
peak RSS is the process's. `torchao` rows need `pip install torchao` and are skipped without it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import REPO, TATOEBA, machine, pin, publish, table

BACKENDS = ("fp32", "torch.ao dynamic", "torchao dynamic activation", "torchao weight-only")

_RUN = """
import json, resource, sys, time, warnings
import torch
warnings.filterwarnings("ignore")
torch.set_num_threads(1)
import sacrebleu
from nmtcli.search import SearchOptions
from nmtcli.translator import Translator
model, backend, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
sources = open(sys.argv[4], encoding="utf-8").read().splitlines()[:limit]
references = open(sys.argv[5], encoding="utf-8").read().splitlines()[:limit]
translator = Translator(model, "cpu", precision="int8" if backend == "torch.ao dynamic" else "fp32")
if backend.startswith("torchao"):
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_)
    config = Int8WeightOnlyConfig() if "weight" in backend else Int8DynamicActivationInt8WeightConfig()
    quantize_(translator.model, config)
start = time.perf_counter()
found = [t.best.text for t in translator.translate(sources, SearchOptions(beam_size=5), 64, 1024)]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "bleu": sacrebleu.corpus_bleu(found, [references]).score,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(model: Path, backend: str, limit: int) -> dict | None:
    """One backend's figures, or None when torchao is not installed."""
    args = [str(model), backend, str(limit), str(TATOEBA / "test.en"), str(TATOEBA / "test.fr")]
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, cwd=REPO
    )
    if done.returncode != 0:
        if "No module named 'torchao'" in done.stderr:
            return None
        raise SystemExit(f"{backend} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", type=Path, default=REPO / "models" / "en-fr")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cpus", default=None)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    setting = pin(1, args.cpus)
    rows, baseline = [], None
    for backend in BACKENDS:
        runs = [run(args.model, backend, args.limit) for _ in range(args.repeats)]
        if runs[0] is None:
            rows.append([backend, "not installed", "", "", ""])
            continue
        seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
        baseline = baseline or seconds
        peaks = sorted(r["peak_mb"] for r in runs)
        rows.append(
            [
                backend,
                f"{args.limit / seconds:.1f}",
                f"{baseline / seconds:.2f}×",
                f"{runs[0]['bleu']:.2f}",
                f"{peaks[0]:,.0f}–{peaks[-1]:,.0f} MB",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    headers = ["backend", "sentences/s (search)", "vs fp32", "BLEU", "peak RSS"]
    title = f"int8 backends, {args.model.name}, first {args.limit} Tatoeba test sentences, beam 5"
    publish(f"{title}; {machine()}; {setting}", table(headers, rows), args.markdown)


if __name__ == "__main__":
    main()
