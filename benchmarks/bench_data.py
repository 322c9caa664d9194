"""Speed of the procedural dSprites data layer.

Measures (1) materialising the full 737,280-image grid to the bit-packed cache,
(2) sampling random batches of 64 observations from the cache, (3) on-demand rendering
of random batches of 64. Targets (issue 2): (1) <= 60 s on a 2-core machine,
(2) >= 20,000 images/s.

    python benchmarks/bench_data.py [--data-dir DIR] [--seconds 5]

The cache is written to a temporary directory (removed afterwards) unless --data-dir
is given.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def _rate(ds, seconds: float, batch: int = 64) -> float:
    rng = np.random.default_rng(0)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ds.sample_observations_from_factors(ds.sample_factors(batch, rng), rng)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="DISBENCH_DATA for the cache (default: a temporary directory)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each sampling measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DISBENCH_DATA"] = args.data_dir or tmp
        from disbench.data.dsprites import DSprites

        on_demand = DSprites(cache=False)
        start = time.perf_counter()
        path = on_demand.prepare(progress=True)
        prepare_s = time.perf_counter() - start
        size_mib = path.stat().st_size / 2**20
        cached = DSprites(cache="auto")
        assert cached.uses_cache
        cache_rate = _rate(cached, args.seconds)
        render_rate = _rate(on_demand, args.seconds)
    print(f"materialise full grid ({len(on_demand):,} images, {size_mib:.0f} MiB): {prepare_s:.1f} s")
    print(f"sample from cache, batches of 64: {cache_rate:,.0f} images/s")
    print(f"render on demand, batches of 64: {render_rate:,.0f} images/s")
    print(f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
