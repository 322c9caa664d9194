"""Registers the dataset loaders (name -> factory) with :func:`disbench.data.register`."""

from __future__ import annotations

from disbench.data import register


@register("dsprites")
def load_dsprites(**options):
    """Procedural dSprites (default; no file needed)."""
    from disbench.data.dsprites import DSprites

    return DSprites(**options)
