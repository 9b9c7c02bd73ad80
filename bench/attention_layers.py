"""How sharply each Transformer layer's cross-attention aligns: the default heatmap layer's evidence.

Usage: python -m bench.attention_layers [-m MODEL_DIR] [INPUT] [--limit 200] [--markdown FILE]
For each decoder layer, translates the first --limit lines of INPUT (default: the Tatoeba dev
sources) greedily with `nmtcli translate --format json --show-attention --attention-layer L` and
reports the mean over all target pieces of their largest attention weight (mean of heads): 1 is
a one-to-one alignment, 1/S a uniform one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import REPO, TATOEBA, machine, nmtcli, publish, table


def row_maxima(model: Path, source: Path, layer: int) -> list[float]:
    """Each target piece's largest attention weight at one layer."""
    done = subprocess.run(
        [
            *[nmtcli(), "translate", "-m", str(model), "-k", "1", "-f", "json"],
            *["--show-attention", "--attention-layer", str(layer)],
        ],
        input=source.read_bytes(),
        capture_output=True,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    return [max(row) for record in records for row in record["attention"]["weights"]]


def main() -> None:
    """Print (and optionally write) the per-layer table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-m", "--model", type=Path, default=REPO / "models" / "en-fr")
    parser.add_argument("input", type=Path, nargs="?", default=TATOEBA / "dev.en")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    layers = json.loads((args.model / "config.json").read_text())["model"]["layers"]
    lines = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "input.txt"
        sample.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for layer in range(1, layers + 1):
            maxima = row_maxima(args.model, sample, layer)
            rows.append([str(layer), f"{len(maxima):,}", f"{sum(maxima) / len(maxima):.2f}"])
            print(" | ".join(rows[-1]), flush=True)
    header = (
        f"Cross-attention sharpness of {args.model.name} per decoder layer (mean of heads), "
        f"{len(lines)} sentences of {args.input.name}, greedy; {machine()}"
    )
    publish(header, table(["layer", "target pieces", "mean row maximum"], rows), args.markdown)


if __name__ == "__main__":
    main()
