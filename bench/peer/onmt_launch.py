"""Run OpenNMT-py 3.5.1's onmt_train / onmt_translate with the benchmark's in-process patches.

Run with the OpenNMT virtualenv's Python (it never imports nmtcli), by bench.peer_opennmt:

    python onmt_launch.py train --budget SECONDS --stats STATS.json -- ONMT_TRAIN_ARGS...
    python onmt_launch.py translate -- ONMT_TRANSLATE_ARGS...

Patches, in this process only (nothing installed or edited on disk):

- `torch.load` defaults to `weights_only=False`: OpenNMT-py 3.5.1 checkpoints pickle an argparse
  Namespace and its vocabularies, which torch >= 2.6 refuses to unpickle by default, so
  `onmt_translate` fails on its own checkpoints without this.
- `spacy` and `fasttext` are imported at the top of two transforms (terminology, clean) that
  OpenNMT imports eagerly but this benchmark never enables; when they are not installed (the
  harness does not install them: hundreds of MB), empty stand-ins that fail on first use are
  registered instead (any attribute lookup on them raises AttributeError).
- train: a wall-clock budget. OpenNMT-py has no time limit, so the generator that feeds its
  training loop (`Trainer._accum_batches`) is wrapped: the clock starts when the first batch is
  ready (OpenNMT has then read, transformed and bucketed the corpus, as nmtcli has read and
  encoded it when its `--max-time` clock starts), and after each update, once `budget` seconds
  have passed, no further batch is handed out. The loop then ends the normal way, so OpenNMT
  saves its final checkpoint (`<save_model>_step_<N>.pt`) itself, outside the budget, as nmtcli
  saves after its limit. Same rule as nmtcli: the limit is checked after each update.
  The totals of OpenNMT's own `Statistics` (the numbers behind its `tok/s` log lines) are written
  to STATS.json: updates, target tokens (non-padding, EOS included, BOS excluded), source
  tokens, sentences and training-loop seconds.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time
import types


def _stub_missing(names: list[str]) -> None:
    """Register a stand-in for each module in `names` that cannot be imported."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            module = types.ModuleType(name)

            def missing(attr: str, _name: str = name) -> None:
                raise AttributeError(
                    f"{_name} is not installed in the benchmark's OpenNMT environment "
                    f"(a stand-in was registered; {_name}.{attr} is not available)"
                )

            module.__getattr__ = missing  # type: ignore[method-assign]
            sys.modules[name] = module


def _patch_torch_load() -> None:
    """Make `torch.load` default to weights_only=False (OpenNMT-py 3.5.1 pickles Namespaces)."""
    import torch

    original = torch.load

    @functools.wraps(original)
    def load(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
        return original(*args, **kwargs)

    torch.load = load


def _install_budget(budget: float, stats_path: str) -> None:
    """Stop OpenNMT's training loop after `budget` seconds; write its statistics totals."""
    from onmt.trainer import Trainer

    clock: dict[str, float | None] = {"start": None, "end": None}
    outcome: dict[str, object] = {"reason": "train_steps"}
    accum = Trainer._accum_batches
    train = Trainer.train

    def timed_batches(self, iterator):
        for item in accum(self, iterator):
            now = time.monotonic()
            if clock["start"] is None:
                clock["start"] = now
            elif now - clock["start"] >= budget:
                outcome["reason"] = "max time"
                break
            yield item
        clock["end"] = time.monotonic()

    def timed_train(self, *args, **kwargs):
        total = train(self, *args, **kwargs)
        start = clock["start"] or time.monotonic()
        end = clock["end"] or time.monotonic()
        record = {
            "budget": budget,
            "reason": outcome["reason"],
            "steps": int(self.optim.training_step) - 1,
            "target_tokens": int(total.n_words),
            "source_tokens": int(total.n_src_words),
            "sentences": int(total.n_sents),
            "train_seconds": end - start,
            "target_tokens_per_second": total.n_words / max(end - start, 1e-9),
            "train_loss_xent": total.xent(),
            "train_ppl": total.ppl(),
            "train_accuracy": total.accuracy(),
        }
        with open(stats_path, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
        return total

    Trainer._accum_batches = timed_batches
    Trainer.train = timed_train


def main() -> None:
    """Patch, then hand the remaining arguments to onmt_train or onmt_translate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tool", choices=["train", "translate"])
    parser.add_argument("--budget", type=float, help="train: wall-clock seconds of training")
    parser.add_argument("--stats", help="train: write the statistics totals here (JSON)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    rest = argv[split + 1 :]
    _stub_missing(["spacy", "fasttext"])
    _patch_torch_load()
    if args.tool == "train":
        if args.budget is None or args.stats is None:
            parser.error("train needs --budget and --stats")
        _install_budget(args.budget, args.stats)
        from onmt.bin.train import main as tool_main

        sys.argv = ["onmt_train", *rest]
    else:
        from onmt.bin.translate import main as tool_main

        sys.argv = ["onmt_translate", *rest]
    tool_main()


if __name__ == "__main__":
    main()
