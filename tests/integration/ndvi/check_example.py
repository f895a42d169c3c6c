"""Integration check: examples/ndvi_pipeline.cpp, run against `cubist demo --serve`, writes the same
composite as `cubist demo` did (the store check_ndvi.py proved equal to xarray + rioxarray).

usage: check_example.py CUBIST EXAMPLE WORKDIR CATCHMENT
"""
import os
import re
import subprocess
import sys
import time

import numpy as np
import xarray as xr


def main():
    cubist, example, workdir, catchment = sys.argv[1:5]
    server = subprocess.Popen([cubist, "demo", "--serve", "--no-progress", "--workdir", workdir,
                               "--catchment", catchment], stdout=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.time() + 300
        while url is None and time.time() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if m and line.startswith("STAC API"):
                url = m.group(1)
        if url is None:
            print("FAIL: cubist demo --serve printed no STAC API URL")
            sys.exit(1)
        out = os.path.join(workdir, "example.zarr")
        run = subprocess.run([example, url, catchment, out], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL: {example} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
            sys.exit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ours = xr.open_zarr(out)["data"].load()
    demo = xr.open_zarr(os.path.join(workdir, "ndvi.zarr"))["data"].load()
    if ours.dims != demo.dims or ours.shape != demo.shape:
        print(f"FAIL: example {ours.dims} {ours.shape} vs demo {demo.dims} {demo.shape}")
        sys.exit(1)
    for c in ("time", "y", "x"):
        if not np.array_equal(ours[c].values, demo[c].values):
            print(f"FAIL: coordinate {c} differs between the example's and the demo's output")
            sys.exit(1)
    if not np.array_equal(ours.values, demo.values, equal_nan=True):
        print("FAIL: the example's values differ from the demo's")
        sys.exit(1)
    print(f"PASS: the example wrote the demo's composite {ours.shape}")


if __name__ == "__main__":
    main()
