"""Ctrl-C during training: finish the step, save a checkpoint, stop."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nmtcli.training.trainer import Trainer


@contextmanager
def stop_on_interrupt(trainer: Trainer, say: Callable[[str], None]) -> Iterator[None]:
    """First Ctrl-C: finish the step, save, exit; a second one aborts at once."""

    def handler(_signum: int, _frame: Any) -> None:
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.request_stop()
        say("stopping after this step to save a checkpoint (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
