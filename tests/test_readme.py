"""The README's Python API walkthrough runs as written (so it cannot go stale)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_python_api_walkthrough_runs(tmp_path, monkeypatch, one_torch_thread, capsys):
    blocks = python_blocks("Python API")
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md Python API block {i + 1}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message says which block
            pytest.fail(f"README Python API block {i + 1} failed: {type(e).__name__}: {e}")
    out = capsys.readouterr().out
    assert "('shape', 'scale', 'orientation', 'posX', 'posY') (8, 5) (8, 1, 64, 64)" in out
    assert "4.0 torch.Size([8, 10])" in out
    assert "centroid" in out and 0 <= namespace["scores"]["mig"] <= 1
