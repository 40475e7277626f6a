"""Latency (medians of interleaved calls) and peak memory (the kernel's RSS high-water mark)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def summarize(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p25_ms": float(np.percentile(ms, 25)),
        "p75_ms": float(np.percentile(ms, 75)),
        "reps": len(ms),
    }


def interleaved(
    calls: dict[str, tuple[Callable[[Any], Any], Any]],
    *,
    budget_s: float,
    min_reps: int,
    max_reps: int,
    warmup: int = 2,
    block: int = 1,
) -> dict[str, dict[str, float]]:
    """Median latency of each ``call(feed)``, timing the paths in turn, round after round.

    Interleaving spreads the noise of a shared machine over all paths alike, so their
    ratios hold better than their absolute times. The number of rounds fills
    ``budget_s`` (estimated from the warm-up), within ``[min_reps, max_reps]``.

    ``block`` > 1: each round runs a path ``block`` times in a row and times all but the
    first call, which follows another path's call. A server calls one artifact back to
    back; right after another runtime's call, a small call also pays for that runtime's
    thread pools still spinning on the same cores (measured 3-8x at batch 1 for
    onnxruntime after a TensorFlow call, on 2 cores), so a path timed only after others is
    timed as the path that follows it, not as itself.

    A call that runs in another process (``backends.py``'s JAX worker) sets its attribute
    ``own_seconds`` after each call to the time measured there, which is recorded instead of
    the time around the call here (that also holds the trip between the processes).
    """
    one_round = 0.0
    for call, feed in calls.values():
        for _ in range(warmup):
            start = time.perf_counter()
            call(feed)
        one_round += (time.perf_counter() - start) * block
    reps = int(min(max_reps, max(min_reps, budget_s // max(one_round, 1e-9))))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(reps):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call, feed = calls[name]
            for k in range(block):
                start = time.perf_counter()
                call(feed)
                seconds = time.perf_counter() - start
                if block == 1 or k > 0:
                    samples[name].append(getattr(call, "own_seconds", seconds))
    return {name: summarize(s) for name, s in samples.items()}


# --- memory ---------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakMemory:
    """Peak RSS above the RSS at entry, for the code inside the ``with`` block.

    On Linux the kernel's high-water mark (``VmHWM``) is reset at entry by writing
    ``5`` to ``/proc/self/clear_refs`` and read at exit: exact, no sampling. Where that
    is not allowed, a thread samples RSS with psutil every millisecond instead.
    ``method`` says which one ran.
    """

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.baseline = rss_bytes()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            _status_kib("VmHWM")
            self.method = "kernel RSS high-water mark (VmHWM), reset before the call"
            self._thread = None
        except OSError:
            self.method = "RSS sampled every 1 ms with psutil"
            self._peak = self.baseline
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, rss_bytes())
            time.sleep(0.001)

    def __exit__(self, *exc) -> None:
        if self._thread is None:
            self.peak = _status_kib("VmHWM") * 1024
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._peak, rss_bytes())
        self.delta = self.peak - self.baseline
