"""Training: data batching, schedules, the training loop and checkpoints."""
