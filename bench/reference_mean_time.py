"""Reference for the `mean_time` benchmark: numpy and dask on the same float32 cube as bench_mean_time.

Builds value(t, y, x) = float32((t*7919 + y*131 + x*17) % 1009) / float32(1009) (the same numbers
the C++ side writes), then times
  numpy:  arr.mean(axis=0)
  dask:   da.from_array(arr, chunks=(T, C, C)).mean(axis=0).compute(scheduler="threads")
  dask:   da.nanmean(...) (skips NaN like xarray's default, and like cubist's default)
and prints one line each:  <numpy|dask> op=<mean|nanmean> median_s=<s> runs_s=<s,...> checksum=<sum of result>
Run with Debian's interpreter: /usr/bin/python3 reference_mean_time.py --time 64 --y 4096 --x 4096 --chunk 1024
"""
import argparse
import statistics
import time

import dask
import dask.array as da
import numpy as np


def cube(t, y, x):
    # (t*7919 + y*131 + x*17) % 1009 == (t*7919 % 1009 + (y*131 % 1009 + x*17 % 1009)) % 1009, and a
    # lookup table holds float32(k % 1009) / float32(1009) for every k the sum can take.
    arr = np.empty((t, y, x), dtype=np.float32)
    yx = ((np.arange(y, dtype=np.int32) * 131 % 1009)[:, None] + (np.arange(x, dtype=np.int32) * 17 % 1009)[None, :])
    lut = (np.arange(3 * 1009, dtype=np.int32) % 1009).astype(np.float32) / np.float32(1009)
    k = np.empty_like(yx)
    for i in range(t):
        np.add(yx, np.int32(i * 7919 % 1009), out=k)
        np.take(lut, k, out=arr[i])
    return arr


def timed(f, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return times, out


def report(tag, op, times, out):
    runs = ",".join(f"{t:.4g}" for t in times)
    checksum = float(np.sum(out, dtype=np.float64))
    print(f"{tag} op={op} median_s={statistics.median(times):.4f} runs_s={runs} checksum={checksum:.6f} "
          f"dtype={out.dtype}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--time", type=int, default=64)
    p.add_argument("--y", type=int, default=4096)
    p.add_argument("--x", type=int, default=4096)
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    print(f"numpy version={np.__version__} dask version={dask.__version__} scheduler=threads "
          f"chunks=({a.time}, {a.chunk}, {a.chunk})", flush=True)
    t0 = time.perf_counter()
    arr = cube(a.time, a.y, a.x)
    print(f"build_s={time.perf_counter() - t0:.2f}", flush=True)

    times, out = timed(lambda: arr.mean(axis=0), a.repeats)
    report("numpy", "mean", times, out)

    x = da.from_array(arr, chunks=(a.time, a.chunk, a.chunk))
    times, out = timed(lambda: x.mean(axis=0).compute(scheduler="threads"), a.repeats)
    report("dask", "mean", times, out)
    times, out = timed(lambda: da.nanmean(x, axis=0).compute(scheduler="threads"), a.repeats)
    report("dask", "nanmean", times, out)


if __name__ == "__main__":
    main()
