"""One path, one big batch, in a fresh process: peak memory, latency, and outputs for parity.

Run by ``run.py`` once per path, so that one path's allocator caches and the memory it
keeps after a 65,536-row call neither inflate nor hide another's. Prints one JSON line::

    python benchmarks/probe.py --workdir DIR --path B --rows 65536 --reps 3 --out B.npy
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", required=True, help="where to save the outputs (.npy)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # one tf.function per loaded path reads as "retracing"
    import numpy as np
    import pandas as pd
    from measure import PeakMemory, rss_bytes, summarize
    from paths import load_path

    test = pd.read_pickle(os.path.join(args.workdir, "test.pkl")).iloc[: args.rows]
    path = load_path(args.path, args.workdir)
    feed, small = path.feed(test), path.feed(test.iloc[:1])
    for _ in range(2):  # trace / initialize on one row: the big call below is the first of its size
        path(small)
    with PeakMemory() as first:
        start = time.perf_counter()
        outputs = path(feed)
        first_s = time.perf_counter() - start
    with PeakMemory() as later:
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            path(feed)
            times.append(time.perf_counter() - start)
    np.save(args.out, np.asarray(outputs, dtype=np.float32))
    result = {
        "path": args.path,
        "rows": args.rows,
        "first_call_ms": first_s * 1e3,
        "latency": summarize(times),
        "baseline_rss_bytes": first.baseline,
        "peak_delta_bytes": first.delta,
        "later_peak_delta_bytes": later.delta,
        "rss_after_bytes": rss_bytes(),
        "memory_method": first.method,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
