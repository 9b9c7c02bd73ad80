"""The training configuration: one frozen dataclass, saved in `config.json`.

Field names are the option names (`batch_tokens` is `--batch-tokens` and `batch_tokens:` in a
YAML config). `None` means "the default for this architecture" where noted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from nmtcli.device import PRECISIONS
from nmtcli.errors import ConfigError

SCHEDULERS = ("auto", "inverse_sqrt", "plateau", "constant")
METRICS = ("bleu", "loss")
DEVICES = ("auto", "cpu", "cuda")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a training run except the model architecture."""

    # vocabulary (when nmtcli builds it)
    vocab_size: int = 8000
    model_type: str = "unigram"
    separate_vocab: bool = False
    # data
    valid_size: int = 1000  # held out when no --valid is given (at most a tenth of the corpus)
    max_length: int = 128  # training pairs longer than this (in pieces, either side) are skipped
    batch_tokens: int = 4096  # padded tokens per batch, the longer side counted
    # optimisation
    lr: float | None = None  # peak learning rate; None: 1e-3 (rnn) or 7e-4 (transformer)
    scheduler: str = "auto"  # auto: inverse_sqrt for the transformer, plateau for rnn
    warmup: int | None = None  # linear warm-up steps; None: 1000 (inverse_sqrt) or 0
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    teacher_forcing: float = 1.0  # probability of feeding the reference token (scheduled sampling)
    # stopping
    max_epochs: int = 30
    max_steps: int | None = None
    max_time: float | None = None  # seconds
    # validation
    valid_every: int = 0  # steps; 0 validates at the end of each epoch
    valid_bleu_sentences: int = 500
    early_stop_metric: str = "bleu"
    patience: int = 5  # validations without improvement before stopping; 0 never stops early
    # runtime
    seed: int = 1
    device: str = "auto"
    precision: str = "auto"
    log_every: float = 30.0  # seconds between plain log lines when stderr is not a terminal

    def __post_init__(self) -> None:
        checks = [
            (self.batch_tokens >= 16, "batch-tokens must be at least 16"),
            (0.0 <= self.teacher_forcing <= 1.0, "teacher-forcing must be in [0, 1]"),
            (0.0 <= self.label_smoothing < 1.0, "label-smoothing must be in [0, 1)"),
            (self.scheduler in SCHEDULERS, f"scheduler must be one of {', '.join(SCHEDULERS)}"),
            (self.early_stop_metric in METRICS, "early-stop-metric must be bleu or loss"),
            (self.device in DEVICES, "device must be auto, cpu or cuda"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (self.max_epochs >= 1, "max-epochs must be at least 1"),
            (self.max_steps is None or self.max_steps >= 1, "max-steps must be at least 1"),
            (self.max_time is None or self.max_time > 0, "max-time must be positive"),
            (self.valid_size >= 1 and self.max_length >= 1, "sizes must be positive"),
            (self.warmup is None or self.warmup >= 0, "warmup must not be negative"),
            (self.model_type in ("unigram", "bpe"), "model-type must be unigram or bpe"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def peak_lr(self, arch: str) -> float:
        """The learning rate to use for `arch`."""
        if self.lr is not None:
            return self.lr
        return 7e-4 if arch == "transformer" else 1e-3

    def warmup_steps(self, arch: str) -> int:
        """Warm-up steps for `arch`'s schedule."""
        if self.warmup is not None:
            return self.warmup
        return 1000 if self.schedule(arch) == "inverse_sqrt" else 0

    def schedule(self, arch: str) -> str:
        """The scheduler to use for `arch`."""
        if self.scheduler != "auto":
            return self.scheduler
        return "inverse_sqrt" if arch == "transformer" else "plateau"


TRAIN_FIELDS = frozenset(f.name for f in fields(TrainConfig))


def train_config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """The JSON-ready form."""
    return asdict(config)


def parse_duration(text: str | float | int) -> float:
    """Seconds from `90`, `90s`, `10m`, `2h` or `1h30m`."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"cannot read {text!r} as a duration (examples: 90s, 10m, 2h, 1h30m)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds
