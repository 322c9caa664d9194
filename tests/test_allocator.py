"""disbench.allocator: glibc malloc thresholds, opt-out by environment."""

import sys

import pytest

from disbench import allocator


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(allocator, "_done", None)
    return allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_sets_the_thresholds_once_on_linux(fresh, monkeypatch):
    calls = []
    real_cdll = allocator.ctypes.CDLL

    def spy(name):
        lib = real_cdll(name)
        real = lib.mallopt

        def mallopt(param, value):
            calls.append((param, value))
            return real(param, value)

        mallopt.argtypes = None
        lib.mallopt = mallopt
        return lib

    monkeypatch.setattr(allocator.ctypes, "CDLL", spy)
    assert fresh.tune_allocator() is True
    assert fresh.tune_allocator() is True  # idempotent: no second call
    assert calls == [(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD),
                     (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD)]


def test_opt_out_leaves_the_allocator_alone(fresh, monkeypatch):
    monkeypatch.setenv("DISBENCH_MALLOC_TUNING", "0")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: pytest.fail("libc must not be loaded"))
    assert fresh.tune_allocator() is False
