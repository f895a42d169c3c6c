#!/usr/bin/python3
"""Oracle side of the Zarr-over-HTTP interop test: Debian's xarray writes a store.

Usage: write_xarray_store.py OUTDIR
Writes OUTDIR/xarray.zarr (Zarr v2, consolidated, xarray's default encoding: blosc, CF time,
_FillValue NaN) with NaN holes and partial edge chunks, then deletes one chunk file so that the
reader must supply the fill value. Prints the deleted chunk's key.
"""
import os
import sys

import numpy as np
import pandas as pd
import xarray as xr

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
t, y, x = 4, 23, 31
data = rng.normal(280.0, 5.0, size=(t, y, x))
data[rng.random(data.shape) < 0.1] = np.nan
ds = xr.Dataset(
    {
        "data": (("time", "y", "x"), data, {"units": "K", "long_name": "air temperature"}),
        "f32": (("y", "x"), rng.random((y, x)).astype("float32")),
        "counts": (("y", "x"), rng.integers(-1000, 1000, size=(y, x)).astype("int16")),
    },
    coords={
        "time": pd.date_range("2022-03-01", periods=t, freq="6H"),
        "y": np.linspace(47.5, 46.4, y),
        "x": np.linspace(7.0, 8.5, x),
    },
    attrs={"title": "written by xarray", "source": "cubist zarr_http integration test"},
)
ds = ds.chunk({"time": 1, "y": 10, "x": 16})
ds.to_zarr(os.path.join(out, "xarray.zarr"), mode="w", consolidated=True)
os.remove(os.path.join(out, "xarray.zarr", "data", "2.1.0"))
print("data/2.1.0")
