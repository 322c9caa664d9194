"""Device selection, mixed precision and compilation for training and evaluation.

``resolve_device("auto")`` picks CUDA, then Apple MPS, then the CPU. On CUDA the core
compiles the model's sub-networks with ``torch.compile`` (:func:`compile_submodules`) and
trains in the profile's precision (:func:`precision_context`): float32 with TF32 matmuls
and convolutions allowed (the default; the papers trained in float32), or bf16 autocast
when the profile says ``precision = "bf16"``, or strict float32 (TF32 off: the arithmetic of
the TensorFlow reference implementations, which ran float32 on GPUs without TF32) when it says
``precision = "float32_strict"``. On the CPU neither compilation nor autocast
is used (float32), so CPU runs stay bit-reproducible for a seed.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from disbench.errors import InvalidInputError

#: training precisions a profile may name (``precision``): float32 (TF32 on CUDA), bf16 autocast,
#: or float32_strict (TF32 off on CUDA: IEEE float32 matmuls and convolutions, slower on Ampere+)
PRECISIONS = ("float32", "bf16", "float32_strict")

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


def effective_precision(device: torch.device, precision: str = "float32") -> str:
    """What :func:`precision_context` runs on ``device`` for ``precision``, in words:
    ``"bf16 autocast"``, ``"float32 (TF32 matmuls)"``, ``"float32 (TF32 off)"`` (CUDA) or ``"float32"``.

    Raises:
        InvalidInputError: ``precision`` is not one of :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if device.type != "cuda":
        return "float32"
    if precision == "bf16" and torch.cuda.is_bf16_supported():
        return "bf16 autocast"
    if precision == "float32_strict":
        return "float32 (TF32 off)"
    return "float32 (TF32 matmuls)"


@contextlib.contextmanager
def precision_context(device: torch.device, precision: str = "float32"):
    """Run the block in ``precision`` on ``device`` (see :func:`effective_precision`):
    bf16 autocast, or float32 with TF32 allowed (``"float32"``) or forbidden
    (``"float32_strict"``) for matmuls and cuDNN convolutions on CUDA (the previous TF32
    settings are restored after); plain float32 elsewhere."""
    mode = effective_precision(device, precision)
    if mode == "bf16 autocast":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    elif mode in ("float32 (TF32 matmuls)", "float32 (TF32 off)"):
        before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode == "float32 (TF32 matmuls)"
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    else:
        yield


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
