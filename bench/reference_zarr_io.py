"""Reference for the `zarr_io` benchmark: zarr-python + dask writing and reading the same cube as bench_zarr_io.

Builds the float32 (time, y, x) cube bench_zarr_io.cpp generates (a smooth field plus 6 bits of hashed
noise, quantised to 1e-4: the same float32 numbers), then for each codec and chunk size times
  write: da.to_zarr(da.from_array(arr, chunks=(1, C, C)), dir, compressor=...)   (store removed first, untimed)
  read:  da.from_zarr(dir).persist()                                            (every chunk decoded into memory)
on dask's threaded scheduler with --threads workers, blosc without its own threads (as cubist).
Prints one line per figure:
  dask op=<write|read> codec=<lz4|zstd> chunk=<C> median_s=<s> runs_s=<s,...> checksum=<sum of the uint32 bit patterns>
Run with Debian's interpreter: /usr/bin/python3 reference_zarr_io.py --time 15 --dir /tmp/x
"""
import argparse
import shutil
import statistics
import time

import dask
import dask.array as da
import numcodecs
import numpy as np
import zarr
from numcodecs import Blosc, Zstd


def tri(v, p):
    return np.abs(v % (2 * p) - p)


def cube(t, y, x):
    arr = np.empty((t, y, x), dtype=np.float32)
    yy = np.arange(y, dtype=np.uint32)[:, None]
    xx = np.arange(x, dtype=np.uint32)[None, :]
    yi = yy.astype(np.int64)
    xi = xx.astype(np.int64)
    with np.errstate(over="ignore"):
        base = yy * np.uint32(0x85EBCA77) + xx * np.uint32(0xC2B2AE3D)
        for i in range(t):
            h = base + np.uint32((i * 0x9E3779B1) & 0xFFFFFFFF)
            h ^= h >> np.uint32(15)
            h *= np.uint32(0x2C1B3C6D)
            h ^= h >> np.uint32(12)
            smooth = 600 + tri(xi + 40 * i, 2000) // 2 + tri(3 * yi // 2 + xi // 4, 1600) // 2
            arr[i] = (smooth + (h & np.uint32(63)).astype(np.int64)).astype(np.float32) * np.float32(1e-4)
    return arr


def checksum(a):
    return int(np.asarray(a).view(np.uint32).sum(dtype=np.uint64))


def compressor(codec):
    if codec == "lz4":
        return Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE, blocksize=0)
    return Zstd(level=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--time", type=int, default=15)
    p.add_argument("--y", type=int, default=4096)
    p.add_argument("--x", type=int, default=4096)
    p.add_argument("--chunks", default="1024,256,128")
    p.add_argument("--codecs", default="lz4,zstd")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    numcodecs.blosc.use_threads = False
    print(f"zarr version={zarr.__version__} dask version={dask.__version__} numcodecs version={numcodecs.__version__} "
          f"scheduler=threads num_workers={a.threads}", flush=True)
    t0 = time.perf_counter()
    arr = cube(a.time, a.y, a.x)
    print(f"build_s={time.perf_counter() - t0:.2f} checksum={checksum(arr)}", flush=True)

    with dask.config.set(scheduler="threads", num_workers=a.threads):
        for codec in a.codecs.split(","):
            for c in (int(s) for s in a.chunks.split(",")):
                path = f"{a.dir}/{codec}-{c}"
                x = da.from_array(arr, chunks=(1, c, c))
                times, cpu = [], []
                for _ in range(a.repeats):
                    shutil.rmtree(path, ignore_errors=True)
                    t0, c0 = time.perf_counter(), time.process_time()
                    da.to_zarr(x, path, compressor=compressor(codec))
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                print(f"dask op=write codec={codec} chunk={c} median_s={statistics.median(times):.4f} "
                      f"runs_s={','.join(f'{t:.4g}' for t in times)} cpu_s={statistics.median(cpu):.3f} "
                      f"checksum={checksum(arr)}", flush=True)
                times, cpu, kept = [], [], None
                for _ in range(a.repeats):
                    kept = None
                    t0, c0 = time.perf_counter(), time.process_time()
                    kept = da.from_zarr(path).persist()
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                print(f"dask op=read codec={codec} chunk={c} median_s={statistics.median(times):.4f} "
                      f"runs_s={','.join(f'{t:.4g}' for t in times)} cpu_s={statistics.median(cpu):.3f} "
                      f"checksum={checksum(kept.compute())}", flush=True)
                kept = None
                shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
