"""Models: building, saving and loading checkpoints (trained, Hub, local), the registry, CPU kernels."""
