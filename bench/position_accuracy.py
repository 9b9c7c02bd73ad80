"""Accuracy by output position, free-running and teacher-forced, for the exposure-bias part.

    python -m bench.position_accuracy MODEL_DIR TEST.tsv   (prints JSON)

For each target position t (in pieces, 1-based, grouped by tens), among the test pairs whose
reference has a piece t: free-running, the share whose greedy output has the reference's piece
at t (the model was fed its own earlier output); teacher-forced, the share whose most probable
piece at t, given the reference's pieces before t, is the reference's (what training optimises).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import sacrebleu
import torch

from nmtcli.batch import make_batch
from nmtcli.decoding import SearchOptions
from nmtcli.search import translate_ids
from nmtcli.translator import Translator

WIDTH, LAST = 10, 50


def bucket(position: int) -> int:
    """The index of position t's group: 1–10 → 0, 11–20 → 1, ..."""
    return min(position - 1, LAST - 1) // WIDTH


def accuracy(model_dir: Path, test: Path) -> dict:
    """Position accuracies, exact match and BLEU of greedy output, for one model."""
    pairs = [line.split("\t") for line in test.read_text(encoding="utf-8").splitlines()]
    translator = Translator(model_dir)
    src = [translator.vocabulary.src.encode(s) for s, _ in pairs]
    ref = [translator.vocabulary.tgt.encode(r) for _, r in pairs]
    groups = LAST // WIDTH
    seen, free, forced = [0] * groups, [0] * groups, [0] * groups
    decoded = translate_ids(translator.model, src, SearchOptions(beam_size=1), batch_size=64)
    for hypotheses, target in zip(decoded, ref):
        output = hypotheses[0].tokens
        for t, token in enumerate(target, 1):
            seen[bucket(t)] += 1
            free[bucket(t)] += t <= len(output) and output[t - 1] == token
    with torch.inference_mode():
        for start in range(0, len(src), 64):
            batch = make_batch(src[start : start + 64], ref[start : start + 64])
            logits, _ = translator.model(batch)  # (B, T, V)
            best = logits.argmax(-1)  # (B, T)
            for row, target in enumerate(ref[start : start + 64]):
                for t, token in enumerate(target, 1):
                    forced[bucket(t)] += int(best[row, t - 1]) == token
    hypotheses = [translator.vocabulary.tgt.decode(h[0].tokens) for h in decoded]
    references = [r for _, r in pairs]
    return {
        "buckets": [f"{g * WIDTH + 1}–{(g + 1) * WIDTH}" for g in range(groups)],
        "free": [f / max(n, 1) for f, n in zip(free, seen)],
        "forced": [f / max(n, 1) for f, n in zip(forced, seen)],
        "exact": sum(h == r for h, r in zip(hypotheses, references)) / len(pairs),
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
    }


def main() -> None:
    """Print one model's position accuracies as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="model directory")
    parser.add_argument("test", type=Path, help="test TSV, source<TAB>reference")
    args = parser.parse_args()
    print(json.dumps(accuracy(args.model, args.test)))


if __name__ == "__main__":
    main()
