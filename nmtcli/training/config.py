"""The training configuration: one frozen dataclass, saved in `config.json`.

Field names are the option names (`batch_tokens` is `--batch-tokens` and `batch_tokens:` in a
YAML config), and each field carries the help text its option shows. `None` means "the
architecture's default" where noted; those defaults live with each architecture's config
(`training_defaults` in `nmtcli.models.config`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

from nmtcli.device import DEVICES, PRECISIONS
from nmtcli.errors import ConfigError
from nmtcli.fieldtypes import type_problem
from nmtcli.models.config import TrainingDefaults, option
from nmtcli.training.transforms import TransformRates
from nmtcli.vocab import MODEL_TYPES

WARMED_UP = ("inverse_sqrt", "linear")  # schedules whose warm-up defaults to a share of the run
SCHEDULERS = ("auto", "inverse_sqrt", "plateau", "constant", "linear")
METRICS = ("bleu", "loss")
VALID, RUNTIME, TRANSFORMS = "Validation", "Runtime", "Transforms"  # help panels of `train`
FINETUNE = "Fine-tuning"
DEFAULT_WARMUP = 1000  # steps, for the inverse square-root schedule of older run configurations
DEFAULT_EPOCHS = 30  # the epoch limit of a run given no --max-steps or --max-time
RATES = (  # transforms, in `TransformRates` order
    "upper_rate",
    "title_rate",
    "lower_rate",
    "copy_rate",
    "concat_rate",
    "placeholder_rate",
    "list_rate",
)
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a training run except the model architecture."""

    # vocabulary (when nmtcli builds it)
    vocab_size: int | None = option(
        None, "SentencePiece size when building the vocabulary (default: from the corpus size)."
    )
    model_type: str = option("unigram", "SentencePiece unigram or bpe.")
    separate_vocab: bool = option(False, "One vocabulary per side.", flag="--joint-vocab")
    # data
    valid_size: int = option(1000, "Pairs to hold out when --valid is not given.", panel=VALID)
    max_length: int = option(128, "Skip training pairs longer than this many pieces.")
    batch_tokens: int | None = option(
        None, "Padded tokens per batch, the longer side counted (default: from the corpus)."
    )
    # optimisation
    lr: float | None = option(None, "Peak learning rate (the architecture's default).")
    scheduler: str = option(
        "auto",
        "auto (the architecture's), inverse_sqrt, plateau, constant, linear (to 0 at the end).",
    )
    warmup: int | None = option(
        None, "Warm-up steps (default: a share of the planned steps for inverse_sqrt and linear)."
    )
    plateau_factor: float = option(0.5, "Learning-rate factor at each plateau.")
    plateau_patience: int = option(2, "Validations without improvement before a reduction.")
    label_smoothing: float = option(0.1, "Label smoothing ε.")
    clip_norm: float = option(1.0, "Gradient norm clipping.")
    teacher_forcing: float = option(
        1.0, "Probability of feeding the reference token (<1 is scheduled sampling)."
    )
    # fine-tuning (`nmtcli.training.finetune`)
    init_from: str | None = option(
        None,
        "Fine-tune: start from this model directory (or shipped model, e.g. en-fr): its "
        "architecture, vocabulary and weights; optimizer, schedule and best score start fresh.",
        panel=FINETUNE,
    )
    freeze: str | None = option(
        None,
        "Parameters not trained: embeddings, encoder, decoder, encoder:N or decoder:N (the first "
        "N layers), comma-separated.",
        panel=FINETUNE,
    )
    mix_parent: float = option(
        0.0,
        "Share of the training pairs drawn from the --init-from model's own corpus, against "
        "forgetting what it knew.",
        panel=FINETUNE,
    )
    # training-time transforms (`nmtcli.training.transforms`): shares of the pairs, drawn anew
    # each epoch; the defaults are measured in docs/benchmarks.md ("Everyday input")
    transforms: bool = option(
        True,
        "Apply the training-time transforms below (off: the corpus as it is; off by default "
        "with --init-from).",
        panel=TRANSFORMS,
    )
    upper_rate: float = option(
        0.05, "Share of pairs upper-cased on both sides each epoch.", panel=TRANSFORMS
    )
    title_rate: float = option(
        0.03, "Share of pairs title-cased on both sides each epoch.", panel=TRANSFORMS
    )
    lower_rate: float = option(
        0.05,
        "Share of pairs whose source is lower-cased, without punctuation, each epoch.",
        panel=TRANSFORMS,
    )
    copy_rate: float = option(
        0.1,
        "Share of pairs given a span to copy each epoch: a number, name, e-mail, URL, emoji.",
        panel=TRANSFORMS,
    )
    concat_rate: float = option(
        0.1, "Share of pairs joined 2-6 at a time into multi-sentence examples.", panel=TRANSFORMS
    )
    placeholder_rate: float = option(
        0.0,
        "Share of pairs whose shared rare names, numbers and symbols become placeholders ⦅k⦆.",
        panel=TRANSFORMS,
    )
    list_rate: float = option(
        0.0,
        "Share of pairs replaced by a list of 2-5 short items: 'Cats, a red car and the station.'",
        panel=TRANSFORMS,
    )
    # stopping
    max_epochs: int | None = option(
        None,
        f"Stop after this many epochs ({DEFAULT_EPOCHS}; no limit with --max-steps or --max-time).",
    )
    max_steps: int | None = option(None, "Stop after this many updates.")
    max_time: float | None = option(
        None, "Stop after this long, e.g. 600, 10m, 2h (this run).", text=True
    )
    # validation
    valid_every: int | None = option(
        None,
        "Validate every N steps (0: each epoch; default: from the planned steps).",
        panel=VALID,
    )
    valid_bleu_sentences: int = option(
        500, "Sentences translated for validation BLEU.", panel=VALID
    )
    early_stop_metric: str = option("bleu", "bleu or loss.", panel=VALID)
    keep_checkpoints: int = option(
        5, "Validations whose weights are kept, for `nmtcli average` (0: none).", panel=VALID
    )
    patience: int = option(
        5, "Validations without improvement before stopping (0: never).", panel=VALID
    )
    # runtime
    seed: int = option(1, "Random seed.", panel=RUNTIME)
    device: str = option("auto", "auto, cpu or cuda.", panel=RUNTIME)
    precision: str = option(
        "auto", "auto (bf16/fp16 on CUDA, fp32 on CPU), fp32, bf16 (CPU too), fp16.", panel=RUNTIME
    )
    log_every: float = option(
        30.0, "Seconds between log lines when stderr is not a terminal.", panel=RUNTIME
    )
    # what `nmtcli.training.plan` filled in, and why (not an option)
    derived: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_types(self)
        for ok, message in self._checks():
            if not ok:
                raise ConfigError(message)

    def _checks(self) -> list[tuple[bool, str]]:
        """(condition, message) for every rule a valid config satisfies."""
        positive = ("lr", "clip_norm", "plateau_factor", "log_every")
        return [
            *(
                (_positive(getattr(self, n)), f"{_flag(n)} must be a positive number")
                for n in positive
            ),
            (self.lr is None or self.lr <= 1.0, "lr must be at most 1 (Adam's are about 1e-3)"),
            (self.plateau_factor < 1.0, "plateau-factor must be below 1 (it lowers the rate)"),
            (self.valid_bleu_sentences >= 0, "valid-bleu-sentences must not be negative"),
            (self.patience >= 0, "patience must not be negative"),
            (self.keep_checkpoints >= 0, "keep-checkpoints must not be negative"),
            (self.valid_every is None or self.valid_every >= 0, "valid-every must not be negative"),
            (self.plateau_patience >= 1, "plateau-patience must be at least 1"),
            (self.vocab_size is None or self.vocab_size >= 8, "vocab-size must be at least 8"),
            (self.batch_tokens is None or self.batch_tokens >= 16, "batch-tokens must be >= 16"),
            (0.0 <= self.teacher_forcing <= 1.0, "teacher-forcing must be in [0, 1]"),
            (0.0 <= self.label_smoothing < 1.0, "label-smoothing must be in [0, 1)"),
            (self.scheduler in SCHEDULERS, f"scheduler must be one of {', '.join(SCHEDULERS)}"),
            (self.early_stop_metric in METRICS, "early-stop-metric must be bleu or loss"),
            (self.device in DEVICES, "device must be auto, cpu or cuda"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (self.max_epochs is None or self.max_epochs >= 1, "max-epochs must be at least 1"),
            (self.max_steps is None or self.max_steps >= 1, "max-steps must be at least 1"),
            (self.max_time is None or self.max_time > 0, "max-time must be positive"),
            (self.valid_size >= 1 and self.max_length >= 1, "sizes must be positive"),
            (self.warmup is None or self.warmup >= 0, "warmup must not be negative"),
            (self.model_type in MODEL_TYPES, "model-type must be unigram or bpe"),
            *((0.0 <= getattr(self, n) <= 1.0, f"{_flag(n)} must be in [0, 1]") for n in RATES),
            (0.0 <= self.mix_parent < 1.0, "mix-parent must be in [0, 1)"),
            (self.mix_parent == 0.0 or self.init_from is not None, "mix-parent needs --init-from"),
            (
                self.upper_rate + self.title_rate + self.lower_rate <= 1.0,
                "upper-rate, title-rate and lower-rate must add up to at most 1",
            ),
        ]

    @property
    def transform_rates(self) -> TransformRates:
        """The training-time transforms' rates (all 0 with --no-transforms)."""
        if not self.transforms:
            return TransformRates()
        return TransformRates(*(getattr(self, name) for name in RATES))

    def peak_lr(self, defaults: TrainingDefaults) -> float:
        """The peak learning rate: the option, else the architecture's default."""
        return defaults.lr if self.lr is None else self.lr

    def schedule(self, defaults: TrainingDefaults) -> str:
        """The scheduler: the option, else the architecture's default."""
        return defaults.scheduler if self.scheduler == "auto" else self.scheduler

    def warmup_steps(self, defaults: TrainingDefaults) -> int:
        """Warm-up steps: the option, else DEFAULT_WARMUP for inverse_sqrt and linear, else 0."""
        if self.warmup is not None:
            return self.warmup
        return DEFAULT_WARMUP if self.schedule(defaults) in WARMED_UP else 0


TRAIN_FIELDS = frozenset(f.name for f in fields(TrainConfig) if "help" in f.metadata)


def _flag(name: str) -> str:
    """An option's name as typed (`clip_norm` -> `clip-norm`)."""
    return name.replace("_", "-")


def _positive(value: float | None) -> bool:
    """Whether an optional number is unset, or finite and above zero."""
    return value is None or (math.isfinite(value) and value > 0)


def check_types(config: TrainConfig) -> None:
    """Refuse a value of the wrong type (`max_epochs: "5"` in YAML) with the option's name."""
    for spec in fields(config):
        problem = type_problem(getattr(config, spec.name), spec.type)
        if problem:
            raise ConfigError(
                f"{_flag(spec.name)} must be {problem}, not {getattr(config, spec.name)!r}"
            )


def parse_duration(text: str | float | int) -> float:
    """Seconds from `90`, `90s`, `10m`, `2h` or `1h30m`."""
    if isinstance(text, int | float) and not isinstance(text, bool) and math.isfinite(text):
        return float(text)
    if not isinstance(text, str):
        raise ConfigError(f"cannot read {text!r} as a duration (examples: 90s, 10m, 2h, 1h30m)")
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"cannot read {text!r} as a duration (examples: 90s, 10m, 2h, 1h30m)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def option_help(name: str) -> str:
    """The help text of a training option, with its default."""
    spec = next(f for f in fields(TrainConfig) if f.name == name)
    text = spec.metadata["help"]
    if spec.default is None or "default" in text or "(" in text:
        return text
    shown = ("yes" if spec.default else "no") if isinstance(spec.default, bool) else spec.default
    return f"{text[:-1]} ({shown})."
