"""Where disbench finds its presets, manifests and data cache.

Presets (``baselines/*.toml``), dataset manifests (``datasets/*.toml``) and study
definitions (``studies/*.toml``) live at the top of a checkout; an installed wheel carries
them as ``disbench/_resources/{baselines,datasets,studies}`` (hatch ``force-include``).
Both places are looked up, the installed copy first.

The data cache (generated or downloaded arrays) is ``$DISBENCH_DATA`` when set, else
``datasets/`` of the checkout when running from one, else ``~/.cache/disbench/datasets``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent


def _resource_dir(kind: str) -> Path:
    installed = _PACKAGE_DIR / "_resources" / kind
    if installed.is_dir():
        return installed
    return _CHECKOUT_DIR / kind


def presets_dir() -> Path:
    """Directory holding the baseline presets (``<name>.toml``)."""
    return _resource_dir("baselines")


def manifests_dir() -> Path:
    """Directory holding the dataset manifests (``<name>.toml``)."""
    return _resource_dir("datasets")


def studies_dir() -> Path:
    """Directory holding the study definitions (``<name>.toml``)."""
    return _resource_dir("studies")


def read_toml(path: Path) -> dict:
    """Parse a TOML file."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def data_dir() -> Path:
    """Root of the data cache; created on first use.

    ``$DISBENCH_DATA`` overrides; a checkout uses its ``datasets/`` folder; an installed
    package uses ``~/.cache/disbench/datasets``.
    """
    env = os.environ.get("DISBENCH_DATA")
    if env:
        root = Path(env).expanduser()
    elif (_CHECKOUT_DIR / "pyproject.toml").is_file() and (_CHECKOUT_DIR / "datasets").is_dir():
        root = _CHECKOUT_DIR / "datasets"
    else:
        root = Path.home() / ".cache" / "disbench" / "datasets"
    root.mkdir(parents=True, exist_ok=True)
    return root
