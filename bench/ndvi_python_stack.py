"""The seed NDVI workflow in the Python stack (xarray + rioxarray + dask), timed, for bench/ndvi_pipeline.py.

usage: ndvi_python_stack.py DATA_DIR CATCHMENT OUT.zarr THREADS
Prints one line: python_stack seconds=<compute + write> bytes_read=<rchar delta> items=<n>
(the steps are tests/integration/ndvi/ndvi_reference.py's, the ones the integration test proves equal
to cubist's output).
"""
import os
import sys
import time

import dask

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "ndvi"))
import ndvi_reference as ref  # noqa: E402


def rchar():
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def main():
    data_dir, catchment, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dask.config.set(scheduler="threads", num_workers=threads)
    r0, t0 = rchar(), time.perf_counter()
    daily, items = ref.ndvi_composite(data_dir, catchment, chunked=True)
    ref.write_like_the_notebook(daily, out)
    seconds = time.perf_counter() - t0
    print(f"python_stack seconds={seconds:.4f} bytes_read={rchar() - r0} items={len(items)}", flush=True)


if __name__ == "__main__":
    main()
