"""dSprites (Matthey et al. 2017), rendered procedurally from its factors.

The factor grid and its order are those of the published
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` without the constant colour factor
(as disentanglement_lib drops it): shape {square, ellipse, heart} (indices 0, 1, 2),
scale ``linspace(0.5, 1, 6)``, orientation ``linspace(0, 2π, 40)`` (both ends included,
so orientation 0 and 39 give the same image, as in the original), posX and posY
``linspace(0, 1, 32)``; 737,280 binary 64×64 images, flat index mixed radix with posY
fastest.

Rendering
---------
Every shape is a union of convex primitives (at most two ellipses and one convex polygon
given as half-planes) in *sprite coordinates*: pixels at scale 1, origin at the
sprite centre, x to the right, y down. A pixel is on when its centre lies inside the
shape after rotation about the sprite centre and translation to the sprite position.
Rendering is an exact scanline fill: for each image row the horizontal line through the
pixel centres is intersected analytically with each primitive (a quadratic for an
ellipse, one bound per half-plane for the polygon), giving one interval of columns per
primitive; a row is the OR of its intervals, built directly as one 64-bit word (the
``np.packbits`` layout of the row). Sub-pixel positions come for free; the output is
binary. The row equations' coefficients are tabulated once per (shape, scale,
orientation), so a row costs a handful of arithmetic operations; the cache builder
reuses each (orientation, posY) row set for all 32 posX with the same arithmetic, so
cached and on-demand images are bit-identical.

Geometry
--------
Fitted to the published images (how, with the figures of each fit: ``datasets/README.md``,
"How the procedural dSprites was fitted"):

* sprite centre ``16 + 32 · pos`` px for posX (columns) and posY (rows, downwards);
* orientation θ rotates the sprite counter-clockwise as displayed;
* square of side 20·scale px; ellipse with semi-axes ``ELLIPSE_SEMI_AXES``·scale,
  horizontal at θ = 0; heart = two lobe ellipses ``HEART_LOBE`` and a convex body with the
  flank ``HEART_FLANK`` (mirrored), tip down at θ = 0;
* each shape's outer boundary eroded by ``EROSION`` px (pixels the shape covers almost fully).

Fidelity over all 160 reference frames (best-match IoU, :func:`disbench.data.fidelity.fidelity`):
mean 0.990, min 0.947; guarded by ``tests/test_dsprites_fidelity.py`` (mean ≥ 0.95, min ≥ 0.85).

Cache
-----
:meth:`DSprites.prepare` renders the full grid once and stores it bit-packed (512 bytes
per image, 377 MB) in ``data_dir()/dsprites/`` (``$DISBENCH_DATA`` overrides). The file starts with a 4096-byte header
(magic line + JSON: renderer version, a fingerprint of the geometry and factor values,
image count); a file whose header does not match the current renderer is stale and
ignored (``cache="auto"``) or rebuilt (``cache=True``). The file is written under a
temporary name and renamed only when complete, so an interrupted prepare leaves nothing
that looks complete. When the cache is used, observations are read from a memory map
(only the sampled rows are unpacked); they are bit-identical to on-demand rendering.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from disbench.data.base import GroundTruthDataset
from disbench.data.dsprites_file import DSpritesFile
from disbench.data.manifest import data_files
from disbench.errors import DataFileError, InvalidInputError
from disbench.io import atomic_path
from disbench.resources import data_dir

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTORS_NUM_VALUES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")

RENDERER_VERSION = 1
SIZE = 64  # image height and width, pixels
CENTRE_AT_0 = 16.0  # sprite centre (px) at posX/posY = 0
TRAVEL = 32.0  # px between posX/posY = 0 and 1
EROSION = (0.4, 0.08, 0.12)  # px removed from the outer boundary, per shape (see module docstring)

# --- geometry at scale 1, sprite coordinates (px, origin at the sprite centre, y down) ---
SQUARE_HALF_SIDE = 10.0
ELLIPSE_SEMI_AXES = (12.85, 7.29)  # (along x, along y) at orientation 0
HEART_LOBE = (4.77, -3.96, 4.95, 5.47)  # right lobe: centre x, centre y, semi-axes x, y (left: mirror)
# right flank of the heart's convex body, from the tip up to the lobe centre (left: mirror)
HEART_FLANK = ((0.0, 9.10), (4.01, 4.77), (8.64, 0.04), (4.77, -3.96))

_NUM_PLANES = 8
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
_ROW_CENTRES = np.arange(SIZE, dtype=np.float64) + 0.5
_HEADER_BYTES = 4096
_MAGIC = b"DISBENCH-DSPRITES-BITS\n"
_ROW_BYTES = SIZE * SIZE // 8


# ------------------------------------------------------------------------------------------
# primitives per (shape, scale)
# ------------------------------------------------------------------------------------------
def _edge_plane(p: np.ndarray, q: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Half-plane ``(n_u, n_v, h)`` bounded by the line through p, q that contains ``inside``."""
    n = np.array([q[1] - p[1], p[0] - q[0]])
    n /= np.hypot(*n)
    if n @ inside > n @ p:
        n = -n
    return np.array([n[0], n[1], n @ p])


def _primitives(shape: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Primitives of one shape at one scale, with the erosion applied.

    Returns:
        ellipses: float64 ``(2, 4)`` rows ``(u0, v0, a, b)`` (centre and semi-axes in
            sprite coordinates); an absent ellipse has ``a = b = 0``.
        planes: float64 ``(8, 3)`` rows ``(n_u, n_v, h)``: the polygon is the set of points
            q with ``n·q <= h`` for every row; ``(0, 0, 1)`` is no constraint and
            ``(0, 0, -1)`` makes the polygon empty.
    """
    ellipses = np.zeros((2, 4))
    planes = np.tile([0.0, 0.0, 1.0], (_NUM_PLANES, 1))
    if shape == 0:
        h = SQUARE_HALF_SIDE * scale - EROSION[0]
        planes[:4] = [[1, 0, h], [-1, 0, h], [0, 1, h], [0, -1, h]]
    elif shape == 1:
        a, b = ELLIPSE_SEMI_AXES
        ellipses[0] = [0.0, 0.0, a * scale - EROSION[1], b * scale - EROSION[1]]
        planes[0] = [0.0, 0.0, -1.0]
    else:
        lx, ly, la, lb = HEART_LOBE
        la, lb = la * scale - EROSION[2], lb * scale - EROSION[2]
        ellipses[0] = [lx * scale, ly * scale, la, lb]
        ellipses[1] = [-lx * scale, ly * scale, la, lb]
        flank = np.asarray(HEART_FLANK) * scale
        inside = np.array([0.0, flank[:, 1].mean()])
        for i, (p, q) in enumerate(zip(flank[:-1], flank[1:])):
            right = _edge_plane(p, q, inside) - [0.0, 0.0, EROSION[2]]
            planes[2 * i] = right
            planes[2 * i + 1] = right * [-1.0, 1.0, 1.0]  # mirror image
        planes[2 * len(flank) - 2] = [0.0, -1.0, -flank[-1, 1]]  # below the line through the lobe centres
    return ellipses, planes


def _geometry_fingerprint(factor_values) -> str:
    payload = {
        "version": RENDERER_VERSION,
        "centre": CENTRE_AT_0,
        "travel": TRAVEL,
        "erosion": EROSION,
        "square": SQUARE_HALF_SIDE,
        "ellipse": ELLIPSE_SEMI_AXES,
        "heart": [HEART_LOBE, HEART_FLANK],
        "factor_values": [np.asarray(v, dtype=np.float64).tolist() for v in factor_values],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------
# scanline rendering
# ------------------------------------------------------------------------------------------
class _ShapeTables:
    """Per (scale, orientation) row-equation coefficients of one shape's primitives.

    With c = cos θ, s = sin θ, a screen point (x, y) relative to the sprite centre has
    sprite coordinates u = c x - s y, v = s x + c y (θ turns the sprite counter-clockwise
    on screen, rows pointing down). On the row at height y:

    * ellipse ((u - u0)/a)² + ((v - v0)/b)² <= 1 is ``alpha x² + beta x + gamma <= 0``
      with ``beta = b0 + b1 y`` and ``gamma = g0 + (g1 + g2 y) y``;
    * half-plane n·(u, v) <= h is ``coef x <= h - other y``: an upper bound
      ``x <= a0 + a1 y`` when coef > 0, a lower bound when coef < 0, and a bound on y
      alone when coef == 0 (kept as the polygon's y range).

    Attributes (float64): ``ell`` ``(S, O, E, 6)`` = (alpha, b0, b1, g0, g1, g2);
    ``upper``/``lower`` ``(S, O, K, 2)`` = (a0, a1), padded with ±inf; ``yrange``
    ``(S, O, 2)``.
    """

    def __init__(self, shape: int, scales: np.ndarray, cos_t: np.ndarray, sin_t: np.ndarray):
        prims = [_primitives(shape, float(sc)) for sc in scales]
        ell = np.array([p[0] for p in prims])[:, None]  # (S, 1, E, 4)
        pla = np.array([p[1] for p in prims])[:, None]  # (S, 1, K, 3)
        c, s = cos_t[None, :, None], sin_t[None, :, None]  # (1, O, 1)
        present = (ell[..., 2] > 0) & (ell[..., 3] > 0)
        ell = ell[:, :, present[:, 0].any(axis=0)]  # drop ellipses this shape never has
        present = (ell[..., 2] > 0) & (ell[..., 3] > 0)
        u0, v0 = ell[..., 0], ell[..., 1]
        with np.errstate(divide="ignore"):
            ia2 = np.where(present, 1.0 / np.where(present, ell[..., 2] ** 2, 1.0), 0.0)
            ib2 = np.where(present, 1.0 / np.where(present, ell[..., 3] ** 2, 1.0), 0.0)
        coeffs = [
            c * c * ia2 + s * s * ib2,
            -2.0 * (c * ia2 * u0 + s * ib2 * v0),
            2.0 * c * s * (ib2 - ia2),
            ia2 * u0 * u0 + ib2 * v0 * v0 - 1.0,
            2.0 * (s * ia2 * u0 - c * ib2 * v0),
            s * s * ia2 + c * c * ib2,
        ]
        shape_so = (len(scales), len(cos_t), ell.shape[2])
        coeffs = [np.broadcast_to(k, shape_so) for k in coeffs]
        absent = np.broadcast_to(~present, shape_so)
        self.ell = np.stack(coeffs, axis=-1).copy()
        self.ell[absent] = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)  # x² + 1 <= 0: never inside

        nu, nv, h = pla[..., 0], pla[..., 1], pla[..., 2]
        coef = nu * c + nv * s
        other = nv * c - nu * s
        safe = np.where(coef == 0, 1.0, coef)
        a0, a1 = h / safe, -other / safe
        n_up, n_lo = int((coef > 0).sum(-1).max()), int((coef < 0).sum(-1).max())
        self.upper = _pack_bounds(coef > 0, a0, a1, max(n_up, 1), np.inf)
        self.lower = _pack_bounds(coef < 0, a0, a1, max(n_lo, 1), -np.inf)
        flat = coef == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ybound = h / other
        ymax = np.where(flat & (other > 0), ybound, np.inf).min(-1)
        ymin = np.where(flat & (other < 0), ybound, -np.inf).max(-1)
        never = (flat & (other == 0) & (h < 0)).any(-1)
        ymin = np.where(never, np.inf, ymin)
        self.yrange = np.stack([ymin, ymax], axis=-1)


def _pack_bounds(mask, a0, a1, k, pad) -> np.ndarray:
    """The (a0, a1) of the bounds selected by ``mask``, moved to the front, ``(S, O, k, 2)``."""
    order = np.argsort(~mask, axis=-1, kind="stable")[..., :k]
    keep = np.take_along_axis(mask, order, -1)
    b0 = np.where(keep, np.take_along_axis(a0, order, -1), pad)
    b1 = np.where(keep, np.take_along_axis(a1, order, -1), 0.0)
    return np.stack([b0, b1], axis=-1)


def _spans(ell, upper, lower, yrange, y) -> tuple[np.ndarray, np.ndarray]:
    """Column intervals (relative to the sprite centre) covered on each row.

    Args:
        ell, upper, lower, yrange: gathered :class:`_ShapeTables` entries, leading
            shape ``(...)``; y: ``(..., R)`` row-centre y relative to the sprite centre.

    Returns:
        lo, hi: float64 ``(..., R, E + 1)``: pixel centres x (relative) with
        ``lo <= x <= hi`` are inside primitive k (the ellipses, then the polygon); empty
        when ``lo > hi``.
    """
    yy = y[..., :, None]
    e = ell[..., None, :, :]
    beta = e[..., 1] + e[..., 2] * yy
    gamma = e[..., 3] + (e[..., 4] + e[..., 5] * yy) * yy
    alpha = e[..., 0]
    disc = beta * beta - 4.0 * alpha * gamma
    ok = disc >= 0
    root = np.sqrt(np.where(ok, disc, 0.0))
    den = 2.0 * alpha
    e_lo = np.where(ok, (-beta - root) / den, np.inf)
    e_hi = np.where(ok, (-beta + root) / den, -np.inf)

    up, lo = upper[..., None, :, :], lower[..., None, :, :]
    p_hi = (up[..., 0] + up[..., 1] * yy).min(axis=-1, keepdims=True)
    p_lo = (lo[..., 0] + lo[..., 1] * yy).max(axis=-1, keepdims=True)
    inside_y = (yy >= yrange[..., None, 0:1]) & (yy <= yrange[..., None, 1:2])
    p_lo = np.where(inside_y, p_lo, np.inf)
    return np.concatenate([e_lo, p_lo], axis=-1), np.concatenate([e_hi, p_hi], axis=-1)


def _row_words(lo, hi, cx) -> np.ndarray:
    """OR of the interval bit masks: uint64 ``(..., R)``; bit ``63 - col`` is column ``col``.

    ``lo``, ``hi``: ``(..., R, P)`` relative intervals; ``cx``: ``(...)`` sprite centre x.
    """
    shift = cx[..., None, None] - 0.5
    c0 = np.clip(np.ceil(lo + shift), 0, SIZE)
    c1 = np.clip(np.floor(hi + shift), -1, SIZE - 1)
    length = np.maximum(c1 - c0 + 1, 0).astype(np.uint64)
    end = np.maximum(c1, 0).astype(np.uint64)
    with np.errstate(over="ignore"):
        words = (_ALL_BITS >> (np.uint64(64) - length)) << (np.uint64(SIZE - 1) - end)
    words = np.where(length > 0, words, np.uint64(0))
    return np.bitwise_or.reduce(words, axis=-1)


def words_to_bytes(words: np.ndarray) -> np.ndarray:
    """Row words ``(n, 64)`` uint64 -> packed image bytes ``(n, 512)`` uint8 (np.packbits layout)."""
    return np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(len(words), _ROW_BYTES)


def unpack_images(packed: np.ndarray) -> np.ndarray:
    """Packed bytes ``(n, 512)`` -> float32 images ``(n, 1, 64, 64)`` in {0, 1}."""
    bits = np.unpackbits(packed, axis=1)
    return bits.reshape(len(packed), 1, SIZE, SIZE).astype(np.float32)


# ------------------------------------------------------------------------------------------
# dataset
# ------------------------------------------------------------------------------------------
class DSprites(GroundTruthDataset):
    """Procedural dSprites: 737,280 binary 64×64 images from 5 factors (no file needed).

    Args:
        cache: ``"auto"`` (default) reads the bit-packed cache when a valid one exists
            (see :meth:`prepare`) and renders on demand otherwise; ``True`` builds the
            cache if it is missing or stale, then reads from it; ``False`` always renders.

    Observations are float32 ``(n, 1, 64, 64)`` in {0, 1}; the cache and on-demand
    rendering give identical images. Source: Matthey et al. 2017, dSprites
    (github.com/deepmind/dsprites-dataset); geometry fitted as described in the module
    docstring.

    Raises:
        InvalidInputError: ``cache`` is not ``"auto"``, True or False.
    """

    name = "dsprites"
    factor_names = FACTOR_NAMES
    factors_num_values = FACTORS_NUM_VALUES
    observation_shape = (1, SIZE, SIZE)
    factor_values = (
        np.arange(3, dtype=np.float64) + 1,  # 1 square, 2 ellipse, 3 heart (as in the file)
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2 * np.pi, 40),
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    )

    def __init__(self, cache="auto"):
        if cache not in ("auto", True, False):
            raise InvalidInputError(f"cache must be 'auto', True or False, got {cache!r}")
        scales = np.asarray(self.factor_values[1], dtype=np.float64)
        theta = np.asarray(self.factor_values[2], dtype=np.float64)
        cos_t, sin_t = np.cos(theta), np.sin(theta)
        self._tables = [_ShapeTables(sh, scales, cos_t, sin_t) for sh in range(self.factors_num_values[0])]
        self._centre_x = CENTRE_AT_0 + TRAVEL * np.asarray(self.factor_values[3], dtype=np.float64)
        self._centre_y = CENTRE_AT_0 + TRAVEL * np.asarray(self.factor_values[4], dtype=np.float64)
        self._cache_mode = cache
        self._memmap = None
        if cache is True:
            self.prepare(progress=False)
        if cache is not False:
            self._memmap = self._open_cache()

    # --- rendering --------------------------------------------------------------------------
    def render_words(self, factors) -> np.ndarray:
        """Render images as row words: uint64 ``(n, 64)``, bit ``63 - col`` of word ``row``.

        Args:
            factors: int factor indices ``(n, 5)``.

        Raises:
            InvalidInputError: bad shape or an index out of range.
        """
        f = self.validate_factors(factors)
        words = np.zeros((len(f), SIZE), dtype=np.uint64)
        for shape, table in enumerate(self._tables):
            rows = np.flatnonzero(f[:, 0] == shape)
            if rows.size:
                _, sc, ori, px, py = f[rows].T
                y = _ROW_CENTRES[None, :] - self._centre_y[py][:, None]
                lo, hi = _spans(
                    table.ell[sc, ori], table.upper[sc, ori], table.lower[sc, ori], table.yrange[sc, ori], y
                )
                words[rows] = _row_words(lo, hi, self._centre_x[px])
        return words

    def render_packed(self, factors) -> np.ndarray:
        """Render images bit-packed: uint8 ``(n, 512)``, ``np.packbits`` of the 64×64 image."""
        return words_to_bytes(self.render_words(factors))

    def render(self, factors) -> np.ndarray:
        """Render images on demand (never from the cache): float32 ``(n, 1, 64, 64)`` in {0, 1}."""
        return unpack_images(self.render_packed(factors))

    def _observations(self, factors, rng):
        if self._memmap is not None:
            index = factors @ self._strides
            return unpack_images(np.asarray(self._memmap[index]))
        return self.render(factors)

    def _block_words(self, shape: int, scale: int, out: np.ndarray) -> None:
        """Render all images with the given shape and scale into ``out`` (uint64, rows in flat order).

        Intervals depend on (orientation, posY) only; posX shifts them, so they are
        computed once per (orientation, posY) and broadcast over posX — with the very
        same arithmetic as :meth:`render_words`, so the images are bit-identical.
        """
        n_or, n_x, n_y = self.factors_num_values[2:]
        t = self._tables[shape]
        y = _ROW_CENTRES[None, :] - self._centre_y[:, None]  # (posY, R)
        cx = np.broadcast_to(self._centre_x[:, None], (n_x, n_y))
        for ori in range(n_or):
            lo, hi = _spans(
                *(
                    np.broadcast_to(a[scale, ori], (n_y, *a.shape[2:]))
                    for a in (t.ell, t.upper, t.lower, t.yrange)
                ),
                y,
            )  # (posY, R, P)
            words = _row_words(lo[None], hi[None], cx)  # (posX, posY, R)
            out[ori * n_x * n_y : (ori + 1) * n_x * n_y] = words.reshape(n_x * n_y, SIZE)

    # --- cache ------------------------------------------------------------------------------
    @property
    def cache_path(self) -> Path:
        """Where :meth:`prepare` writes the bit-packed grid (under ``data_dir()/dsprites``)."""
        return data_dir() / "dsprites" / f"dsprites_procedural_v{RENDERER_VERSION}.bits"

    def _header(self) -> bytes:
        meta = {
            "format": "packbits rows of 64x64 binary images, flat index order",
            "renderer_version": RENDERER_VERSION,
            "fingerprint": _geometry_fingerprint(self.factor_values),
            "factors_num_values": list(self.factors_num_values),
            "num_images": len(self),
            "row_bytes": _ROW_BYTES,
        }
        text = _MAGIC + json.dumps(meta, sort_keys=True).encode() + b"\n"
        return text.ljust(_HEADER_BYTES, b"\0")

    def _open_cache(self):
        """Memory map of a valid cache file, or None when absent or stale."""
        path = self.cache_path
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            header = f.read(_HEADER_BYTES)
        expected_size = _HEADER_BYTES + len(self) * _ROW_BYTES
        if header != self._header() or path.stat().st_size != expected_size:
            return None
        return np.memmap(path, dtype=np.uint8, mode="r", offset=_HEADER_BYTES, shape=(len(self), _ROW_BYTES))

    @property
    def uses_cache(self) -> bool:
        """True when observations are read from the bit-packed cache."""
        return self._memmap is not None

    def prepare(self, progress: bool = True) -> Path:
        """Materialise the full grid to the bit-packed cache (once) and return its path.

        A valid cache is kept as is; a missing or stale one (older renderer) is rendered
        afresh and written atomically. Afterwards this dataset reads from the cache
        (unless constructed with ``cache=False``).

        Args:
            progress: show a tqdm progress bar (one step per shape × scale block).

        Returns:
            Path of the cache file.

        Raises:
            DataFileError: the cache could not be written (e.g. disk full); nothing that
                looks complete is left behind.
        """
        path = self.cache_path
        if self._open_cache() is None:
            self._write_cache(path, progress)
        if self._cache_mode is not False:
            self._memmap = self._open_cache()
        return path

    def _write_cache(self, path: Path, progress: bool) -> None:
        from tqdm.auto import tqdm

        n_shapes, n_scales = self.factors_num_values[:2]
        block = len(self) // (n_shapes * n_scales)
        words = np.empty((block, SIZE), dtype=np.uint64)
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                f.write(self._header())
                blocks = [(sh, sc) for sh in range(n_shapes) for sc in range(n_scales)]
                for sh, sc in tqdm(blocks, desc="dsprites cache", unit="block", disable=not progress):
                    self._block_words(sh, sc, words)
                    f.write(words.astype(">u8").tobytes())
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DataFileError(
                f"could not write the dSprites cache {path}: {e}; free space or set DISBENCH_DATA"
            ) from e

    def __getstate__(self):  # memory maps do not pickle (DataLoader workers); reopen instead
        state = self.__dict__.copy()
        state["_memmap"] = None
        state["_reopen"] = self._memmap is not None
        return state

    def __setstate__(self, state):
        reopen = state.pop("_reopen", False)
        self.__dict__.update(state)
        if reopen:
            self._memmap = self._open_cache()


def load(name: str = "dsprites", source: str = "procedural", **options) -> GroundTruthDataset:
    """dSprites: ``source="procedural"`` (default, :class:`DSprites`, no file), ``"file"``
    (the published npz, :class:`~disbench.data.dsprites_file.DSpritesFile`) or ``"auto"``
    (the published file when present in the data cache, else procedural); ``options`` go to
    the class.

    Raises:
        MissingFileError: ``source="file"`` and the file is absent.
        DataFileError: the file is truncated or has the wrong schema.
    """
    if source == "auto":
        path = Path(options["path"]) if options.get("path") is not None else data_files("dsprites")[0].path()
        source = "file" if path.is_file() else "procedural"
    if source == "file":
        return DSpritesFile(**options)
    return DSprites(**options)
