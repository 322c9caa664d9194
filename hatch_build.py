"""Hatch build hook: ship the presets and dataset manifests inside the wheel.

Only ``baselines/*.toml``, ``datasets/*.toml`` and ``studies/*.toml`` go in (as
``disbench/_resources/{baselines,datasets,studies}/``); the git-ignored data cache beside the
manifests never does.
"""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ResourcesBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        root = Path(self.root)
        for kind in ("baselines", "datasets", "studies"):
            for path in sorted((root / kind).glob("*.toml")):
                build_data["force_include"][str(path)] = f"disbench/_resources/{kind}/{path.name}"
