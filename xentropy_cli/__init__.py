"""xent: cross-entropy the way each framework computes it, stage by stage."""

__version__ = "0.1.0"
