"""disbench: train disentanglement baselines on ground-truth-factor datasets, score them, publish leaderboards."""

__version__ = "0.1.0"

from disbench.errors import DisbenchError  # noqa: E402

__all__ = ["DisbenchError", "__version__"]
