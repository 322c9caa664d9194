"""Device selection, mixed precision and compilation for training and evaluation.

``resolve_device("auto")`` picks CUDA, then Apple MPS, then the CPU. On CUDA the core
runs training steps under bf16 autocast (:func:`autocast`) and compiles the model's
sub-networks with ``torch.compile`` (:func:`compile_submodules`); on the CPU neither is
used, so CPU runs stay bit-reproducible for a seed.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from disbench.errors import InvalidInputError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for ``device``: ``"auto"`` (cuda -> mps -> cpu), ``"cpu"``,
    ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises:
        InvalidInputError: an unknown name, or a device that is not available here.
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise InvalidInputError(f"unknown device {device!r}; use one of {', '.join(DEVICE_CHOICES)} (or cuda:N)")
    if base == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError("device 'cuda' requested but CUDA is not available; use --device auto or cpu")
    if base == "mps" and not _mps_available():
        raise InvalidInputError("device 'mps' requested but MPS is not available; use --device auto or cpu")
    return torch.device(name)


def autocast(device: torch.device):
    """bf16 autocast on CUDA (when supported); a no-op context elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compile_submodules(model: nn.Module, device: torch.device) -> bool:
    """Compile the direct child modules of ``model`` in place (``nn.Module.compile``) on
    CUDA, where it pays; state-dict keys are unchanged. Returns whether it compiled."""
    if device.type != "cuda":
        return False
    for child in model.children():
        if any(True for _ in child.parameters()):
            child.compile()
    return True


def device_description(device: torch.device) -> str:
    """Human-readable device name (GPU model on CUDA)."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
