"""Keep freed memory inside the process on glibc Linux, so CPU convolutions don't page-fault.

A conv encoder's activations for one batch are megabytes (the 32-32-64-64 encoder's first
layer: 8 MiB for 64 images). glibc serves such blocks with ``mmap`` or trims them back to
the OS when they are freed, so every batch faults its pages in again; on the 2-core
reference machine that is 40 % system time and 5,500 instead of 15,000 images/s, flipping
between the two as glibc's dynamic threshold moves. :func:`tune_allocator` fixes the
thresholds (``mallopt``: blocks up to 256 MiB from the heap, trim only above 1 GiB free),
which is what ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:glibc.malloc.trim_threshold=...``
would do before start-up. Freed memory up to 1 GiB then stays with the process.

``disbench`` calls it when training and when scoring; set ``DISBENCH_MALLOC_TUNING=0`` to
leave the allocator alone. It does nothing on other C libraries and platforms.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 1 << 30

_done: bool | None = None


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds once per process; True if they are set.

    Never raises: on macOS, Windows, musl, or with ``DISBENCH_MALLOC_TUNING=0`` it returns False.
    """
    global _done
    if _done is None:
        _done = False
        if sys.platform.startswith("linux") and os.environ.get("DISBENCH_MALLOC_TUNING", "1") != "0":
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                mallopt = libc.mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
