"""The training objective and scheduled sampling, both blind to the architecture.

Shapes: B batch, T target length, V vocabulary.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nmtcli.batch import PAD_ID, Batch
from nmtcli.models import Seq2Seq


def smoothed_loss(logits: Tensor, targets: Tensor, smoothing: float) -> tuple[Tensor, Tensor, int]:
    """Label-smoothed cross-entropy (Szegedy et al. 2016, section 7) summed over real tokens.

    loss = (1 - ε) · (-log p(y)) + ε · mean_v(-log p(v)), padding ignored.

    Returns:
        (loss sum, negative log-likelihood sum without smoothing, number of target tokens)
    """
    log_probs = torch.log_softmax(logits.float(), dim=-1)  # (B, T, V)
    real = targets != PAD_ID  # (B, T)
    nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
    uniform = -log_probs.mean(dim=-1)  # (B, T)
    loss = ((1.0 - smoothing) * nll + smoothing * uniform).masked_fill(~real, 0.0).sum()
    nll = nll.detach().masked_fill(~real, 0.0).sum()
    return loss, nll, int(real.sum())


def scheduled_sampling(model: Seq2Seq, batch: Batch, teacher_forcing: float) -> Batch:
    """Replace reference decoder inputs by the model's own predictions with prob. 1 - p.

    Two-pass scheduled sampling (Mihaylova & Martins 2019): a teacher-forced pass without
    gradients predicts every position; each input token y_{t-1} (t > 1) is then swapped for
    the prediction made at t - 1 with probability 1 - teacher_forcing.
    """
    assert batch.tgt_in is not None
    with torch.no_grad():
        logits, _ = model(batch)
    predictions = logits.argmax(dim=-1)  # (B, T): prediction for tgt_out, i.e. tgt_in shifted
    swap = torch.rand(batch.tgt_in.shape, device=batch.tgt_in.device) >= teacher_forcing  # (B, T)
    swap[:, 0] = False  # BOS stays
    swap &= batch.tgt_in != PAD_ID
    shifted = torch.cat([predictions[:, :1], predictions[:, :-1]], dim=1)  # (B, T)
    mixed = torch.where(swap, shifted, batch.tgt_in)  # (B, T)
    return Batch(batch.src, batch.src_mask, mixed, batch.tgt_out)
