"""An outside method for disbench: a tiny VAE, its preset, and a hand-made encoder.

Nothing here is part of disbench; disbench reaches it through ``my_method.model:TinyVAE`` in
the preset, ``my_method.encoders:centroid`` on the command line, or the ``disbench.models``
entry points of ``examples/pyproject.toml``.
"""

from pathlib import Path

#: the preset file (the ``disbench.models`` entry point ``my_method`` points here)
PRESET = Path(__file__).with_name("my_method.toml")
