"""dSprites (Matthey et al. 2017), rendered procedurally from its factors.

PLACEHOLDER renderer: geometry to be fitted to the reference frames.
"""

from __future__ import annotations

import numpy as np

from disbench.data.base import GroundTruthDataset

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTORS_NUM_VALUES = (3, 6, 40, 32, 32)


class DSprites(GroundTruthDataset):
    name = "dsprites"
    factor_names = FACTOR_NAMES
    factors_num_values = FACTORS_NUM_VALUES
    observation_shape = (1, 64, 64)
    factor_values = (
        np.arange(3, dtype=np.float64) + 1,
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2 * np.pi, 40),
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    )

    def _observations(self, factors, rng):
        n = len(factors)
        shape = factors[:, 0]
        scale = self.factor_values[1][factors[:, 1]]
        theta = self.factor_values[2][factors[:, 2]]
        cx = 16 + 32 * self.factor_values[3][factors[:, 3]]
        cy = 16 + 32 * self.factor_values[4][factors[:, 4]]
        yy, xx = np.mgrid[0:64, 0:64].astype(np.float64) + 0.5
        dx = xx[None] - cx[:, None, None]
        dy = yy[None] - cy[:, None, None]
        c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        u = (c * dx + s * dy) / (10 * scale[:, None, None])
        v = (-s * dx + c * dy) / (10 * scale[:, None, None])
        square = (np.abs(u) <= 1) & (np.abs(v) <= 1)
        ellipse = (u / 0.7) ** 2 + (v / 1.2) ** 2 <= 1
        heart = (u**2 + (v * 1.1) ** 2 - 0.8) ** 3 - u**2 * (v * 1.1) ** 3 <= 0
        masks = np.stack([square, ellipse, heart])
        out = masks[shape, np.arange(n)]
        return out[:, None].astype(np.float32)
