"""Reference for the `overhead` benchmark: dask.array on the threaded scheduler.

Times, end to end, (da.ones(N, chunks=1) + 1).sum().compute(scheduler="threads") and prints
one line per size:  dask n=<N> us_per_chunk=<x> median_s=<s> runs_s=<s,s,...>
or, when the size would take longer than --limit seconds per run (extrapolated linearly from the
largest size measured so far):  dask n=<N> skipped=1 estimated_s=<s>
Run with Debian's interpreter: /usr/bin/python3 reference_overhead.py --sizes 100000 1000000
"""
import argparse
import statistics
import time

import dask
import dask.array as da


def run_once(n):
    t0 = time.perf_counter()
    v = (da.ones(n, chunks=1) + 1).sum().compute(scheduler="threads")
    dt = time.perf_counter() - t0
    if v != 2 * n:
        raise SystemExit(f"dask gave {v} for N={n}, expected {2 * n}")
    return dt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[100000, 1000000])
    p.add_argument("--repeats-small", type=int, default=3)
    p.add_argument("--repeats-large", type=int, default=3)
    p.add_argument("--limit", type=float, default=180.0)
    a = p.parse_args()
    print(f"dask version={dask.__version__} scheduler=threads", flush=True)
    last = None  # (n, median seconds)
    for n in a.sizes:
        if last is not None:
            est = last[1] * n / last[0]
            if est > a.limit:
                print(f"dask n={n} skipped=1 estimated_s={est:.0f}", flush=True)
                continue
        repeats = a.repeats_small if n <= 100000 else a.repeats_large
        if last is not None and last[1] * n / last[0] * repeats > a.limit:
            repeats = 1
        times = [run_once(n) for _ in range(repeats)]
        med = statistics.median(times)
        runs = ",".join(f"{t:.4g}" for t in times)
        print(f"dask n={n} us_per_chunk={med / n * 1e6:.3f} median_s={med:.4f} runs_s={runs}", flush=True)
        last = (n, med)


if __name__ == "__main__":
    main()
