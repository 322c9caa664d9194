"""disbench.io: the one JSON reader and its single failure behaviour."""

import json

from disbench.io import read_json, write_json_atomic


def test_read_json_returns_what_write_json_atomic_wrote(tmp_path):
    obj = {"state": "completed", "step": 3, "losses": [0.5, 0.25], "error": None}
    write_json_atomic(tmp_path / "status.json", obj)
    assert read_json(tmp_path / "status.json") == obj
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json(str(tmp_path / "list.json"), {}) == [1, 2]  # str paths too; the default is not used


def test_absent_or_unreadable_files_give_the_default(tmp_path):
    default = {"step": 0}
    (tmp_path / "truncated.json").write_text('{"state": "runn')
    (tmp_path / "latin1.json").write_bytes('{"name": "é"}'.encode("latin-1"))
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "a_dir.json").mkdir()
    for name in ("missing.json", "truncated.json", "latin1.json", "empty.json", "a_dir.json",
                 "missing_dir/status.json"):
        assert read_json(tmp_path / name) is None
        assert read_json(tmp_path / name, default) is default
    assert read_json(tmp_path / "truncated.json/inside.json") is None  # a file where a folder should be


def test_a_json_null_is_a_value_not_absence(tmp_path):
    (tmp_path / "null.json").write_text(json.dumps(None))
    assert read_json(tmp_path / "null.json", "absent") is None
