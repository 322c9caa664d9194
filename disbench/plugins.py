"""The one loader of outside code: models, presets, encoders and generators that live in the user's package.

disbench imports user code only through this module, and every way it can fail — a module
that does not import, a missing name, an object of the wrong kind, an encoder whose output
has the wrong shape or is not finite — raises a :class:`PluginError` (a
:class:`~disbench.errors.DisbenchError`: one line, exit code 2) that names the reference,
the file, and the fix. Nothing is written anywhere before these checks pass.

References:

* ``"package.module:Name"`` — ``Name`` in an importable module (the current directory is
  on ``sys.path`` for ``python -m disbench.cli``; else install the package or set
  ``PYTHONPATH``).
* entry points of the group :data:`ENTRY_POINT_GROUP` (``disbench.models``), declared by an
  installed package in its ``pyproject.toml``::

      [project.entry-points."disbench.models"]
      my_method = "my_package.disbench:PRESET"     # a path to a preset .toml: a leaderboard row
      my_model = "my_package.model:MyModel"        # a Baseline subclass: usable as model = "my_model"

  so that ``pip install my-package`` makes ``disbench run --models my_method`` work.
* an encoder file ``model.pt``: a TorchScript module (``torch.jit.save``) mapping images to codes.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np

from disbench.errors import DisbenchError

#: the entry-point group installed packages register models and presets in
ENTRY_POINT_GROUP = "disbench.models"
#: images an encoder or generator is probed with before anything runs
PROBE_SIZE = 4


class PluginError(DisbenchError):
    """Outside code (a model class, encoder, generator or entry point) cannot be used as asked."""


def is_reference(text: str) -> bool:
    """Whether ``text`` has the ``package.module:Name`` form."""
    module, sep, name = str(text).partition(":")
    return bool(sep) and all(p.isidentifier() for p in module.split(".")) and name.isidentifier()


def load_object(ref: str, what: str):
    """The object ``package.module:Name`` names.

    Args:
        ref: the reference.
        what: what it should be, for messages (``"model class"``, ``"encoder"``).

    Raises:
        PluginError: malformed reference, a module that does not import (the message carries
            the module's own error), or a missing name (the message lists what the module has).
    """
    if not is_reference(ref):
        raise PluginError(f"{what} {ref!r} is not of the form package.module:Name")
    module_name, _, name = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            raise PluginError(f"{what} {ref!r}: no module named {e.name!r}; install its package, run from the "
                              "directory that holds it, or add that directory to PYTHONPATH") from None
        raise PluginError(f"{what} {ref!r}: importing {module_name} ({_file(module_name)}) failed: {_one_line(e)}; "
                          f"install {e.name} or fix that module") from None
    except Exception as e:  # the user's module raised while importing
        raise PluginError(f"{what} {ref!r}: importing {module_name} ({_file(module_name)}) failed: "
                          f"{_one_line(e)}; fix that module") from None
    if not hasattr(module, name):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise PluginError(f"{what} {ref!r}: {module.__file__} defines no {name!r}; it has: {', '.join(public)}")
    return getattr(module, name)


def entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed entry points of :data:`ENTRY_POINT_GROUP`, by name."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_entry_point(name: str):
    """The object entry point ``name`` refers to (a Baseline subclass or a preset path),
    or None when no installed package declares it.

    Raises:
        PluginError: the entry point exists but does not load.
    """
    ep = entry_points().get(name)
    if ep is None:
        return None
    try:
        return ep.load()
    except Exception as e:
        pkg = ep.dist.name if ep.dist else "its package"
        raise PluginError(f"entry point {name!r} ({ep.value}, group {ENTRY_POINT_GROUP}) of {pkg} does not load: "
                          f"{_one_line(e)}; reinstall or fix {pkg}") from None


def entry_point_presets() -> dict[str, Path]:
    """Preset files registered by installed packages: entry-point name -> path."""
    out = {}
    for name in entry_points():
        obj = load_entry_point(name)
        if isinstance(obj, (str, Path)) and str(obj).endswith(".toml"):
            out[name] = Path(obj)
    return out


# --- encoders and generators ---------------------------------------------------------------
def load_encoder(ref: str, observation_shape, *, device=None) -> Callable:
    """An encoder from ``package.module:function`` or a TorchScript file (``.pt``/``.pth``),
    probed on :data:`PROBE_SIZE` blank images of ``observation_shape``.

    The encoder maps float32 images ``(N, C, H, W)`` in [0, 1] (a torch tensor on ``device``,
    default the CPU) to codes ``(N, num_codes)``: a tensor or array of real numbers.

    Returns:
        a callable with the same contract whose output is checked on every call (shape
        ``(N, D)`` with the same D, finite values).

    Raises:
        PluginError: the reference does not load, is not callable, or its probe output has
            the wrong shape or is not finite.
    """
    import torch

    if str(ref).endswith((".pt", ".pth")):
        path = Path(ref)
        if not path.is_file():
            raise PluginError(f"encoder file {path} not found; save one with torch.jit.save(torch.jit.script(m), path)")
        try:
            fn = torch.jit.load(str(path), map_location=device or "cpu").eval()
        except Exception as e:
            raise PluginError(f"encoder file {path} is not a TorchScript module ({_one_line(e)}); "
                              "save it with torch.jit.save(torch.jit.script(module), path)") from None
    else:
        fn = load_object(ref, "encoder")
        if not callable(fn):
            raise PluginError(f"encoder {ref!r} ({file_of(fn)}) is a {type(fn).__name__}, not a function "
                              "(N, C, H, W) float32 -> (N, num_codes)")
    checked = CheckedEncoder(fn, ref, device)
    checked(torch.zeros((PROBE_SIZE, *observation_shape)))
    return checked


class CheckedEncoder:
    """``fn`` with its output checked: ``(N, D)`` for ``N`` inputs, one D throughout, finite.

    Called with float32 images (tensor or array) ``(N, C, H, W)``; returns a float64 numpy
    array ``(N, D)``.

    Raises:
        PluginError: wrong output shape, changing D, NaN/inf codes, or an exception in ``fn``.
    """

    def __init__(self, fn, ref: str, device=None):
        self.fn, self.ref, self.device = fn, ref, device
        self.num_codes: int | None = None

    def __call__(self, x):
        import torch

        x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, torch.Tensor) else x)
        x = x.to(self.device or "cpu", torch.float32)
        try:
            with torch.no_grad():
                out = self.fn(x)
        except Exception as e:
            raise PluginError(f"encoder {self.ref!r} raised on a batch of shape {tuple(x.shape)}: "
                              f"{_one_line(e)}") from None
        codes = out.detach().to("cpu", torch.float64).numpy() if isinstance(out, torch.Tensor) else np.asarray(out)
        if codes.ndim != 2 or codes.shape[0] != len(x) or not np.issubdtype(codes.dtype, np.number):
            raise PluginError(f"encoder {self.ref!r} returned shape {codes.shape} for {len(x)} images; it must return "
                              f"(N, num_codes) = ({len(x)}, D) real numbers")
        if self.num_codes is None:
            self.num_codes = codes.shape[1]
        elif codes.shape[1] != self.num_codes:
            raise PluginError(f"encoder {self.ref!r} returned {codes.shape[1]} codes after {self.num_codes}; "
                              "the dimension must not change")
        if not np.isfinite(codes).all():
            raise PluginError(f"encoder {self.ref!r} returned NaN or inf codes; fix the encoder (e.g. its "
                              "normalisation)")
        return codes.astype(np.float64, copy=False)


def load_generator(ref: str, observation_shape) -> Callable:
    """A generator ``package.module:function`` for FID: ``function(n) -> float32 (n, C, H, W)``
    images in [0, 1] (a tensor or array), probed with ``n = PROBE_SIZE``.

    Returns:
        ``sample(n)`` returning a float32 torch tensor, checked on every call.

    Raises:
        PluginError: the reference does not load, is not callable, or its images have the
            wrong shape, are not finite or leave [0, 1].
    """
    fn = load_object(ref, "generator")
    if not callable(fn):
        raise PluginError(f"generator {ref!r} ({file_of(fn)}) is a {type(fn).__name__}, not a function n -> images")
    shape = tuple(observation_shape)

    def sample(n: int):
        import torch

        try:
            out = fn(int(n))
        except Exception as e:
            raise PluginError(f"generator {ref!r} raised for n={n}: {_one_line(e)}") from None
        images = torch.as_tensor(out).detach().to("cpu", torch.float32)
        if tuple(images.shape) != (n, *shape):
            raise PluginError(f"generator {ref!r} returned shape {tuple(images.shape)} for n={n}; it must return "
                              f"(n, {', '.join(map(str, shape))}) float32 images in [0, 1]")
        if not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1:
            raise PluginError(f"generator {ref!r} returned values outside [0, 1] (or NaN); images must be in [0, 1]")
        return images

    sample(PROBE_SIZE)
    return sample


def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    return " ".join(text.split())


def _file(module_name: str) -> str:
    spec = importlib.util.find_spec(module_name)
    return spec.origin if spec and spec.origin else module_name


def file_of(obj) -> str:
    try:
        return inspect.getsourcefile(obj) or type(obj).__name__
    except TypeError:
        module = getattr(obj, "__module__", None) or type(obj).__module__
        return _file(module) if module else "?"


__all__ = ["ENTRY_POINT_GROUP", "PluginError", "entry_point_presets", "entry_points", "is_reference",
           "load_encoder", "load_entry_point", "load_generator", "load_object"]
