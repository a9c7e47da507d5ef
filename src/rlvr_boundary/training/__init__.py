"""Training: pretraining, distillation and RLVR (TRL trainers and our extensions)."""
