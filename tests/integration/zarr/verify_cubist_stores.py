#!/usr/bin/python3
"""Oracle: stores cubist wrote must open in zarr-python and xarray.open_zarr with identical values.

Usage: verify_cubist_stores.py DIR   (DIR/manifest.json written by the C++ interop test)
Exits 1 and prints every mismatch.
"""
import json
import os
import sys

import numpy as np
import xarray as xr
import zarr

root = sys.argv[1]
manifest = json.load(open(os.path.join(root, "manifest.json")))
errors = []


def same(a, b):
    if a.dtype.kind == "f":
        return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return a.shape == b.shape and bool(np.array_equal(a, b))


datasets = {}
for e in manifest:
    path = os.path.join(root, e["store"])
    where = f"{e['store']}/{e['array']}"
    expected = np.fromfile(os.path.join(root, e["expected"]), dtype=np.dtype(e["dtype"]).newbyteorder("<"))
    expected = expected.reshape(e["shape"])
    try:
        arr = zarr.open_group(path, mode="r")[e["array"]]
        got = arr[...]
        if not same(got.astype(got.dtype.newbyteorder("=")), expected):
            errors.append(f"{where}: zarr-python values differ")
        if list(arr.attrs.get("_ARRAY_DIMENSIONS", [])) != e["dims"]:
            errors.append(f"{where}: _ARRAY_DIMENSIONS {arr.attrs.get('_ARRAY_DIMENSIONS')} != {e['dims']}")
    except Exception as ex:  # noqa: BLE001 - report every failure
        errors.append(f"{where}: zarr-python failed: {ex!r}")
        continue
    try:
        if e["store"] not in datasets:
            datasets[e["store"]] = xr.open_zarr(path, consolidated=e["consolidated"])
        ds = datasets[e["store"]]
        var = ds[e["array"]]
        if list(var.dims) != e["dims"]:
            errors.append(f"{where}: xarray dims {var.dims} != {e['dims']}")
        for k, v in e["attrs"].items():
            if k in ("units", "calendar") and e["array"] == "time":
                continue  # consumed by CF decoding
            if var.attrs.get(k) != v:
                errors.append(f"{where}: xarray attr {k}={var.attrs.get(k)!r} != {v!r}")
        if e["array"] == "time":
            decoded = np.fromfile(os.path.join(root, f"expected/{e['store']}-time-decoded.bin"), dtype="<i8")
            if var.dtype != np.dtype("datetime64[ns]") or not np.array_equal(var.values.view("i8"), decoded):
                errors.append(f"{where}: xarray decoded time {var.values} != {decoded.view('M8[ns]')}")
        else:
            values = var.values
            exp = expected
            fill = arr.fill_value
            if e["dtype"].startswith(("int", "uint")) and fill is not None:
                # xarray treats the zarr fill_value as _FillValue: those integers become NaN
                if values.dtype.kind != "f":
                    errors.append(f"{where}: xarray did not mask fill value {fill}")
                exp = np.where(expected == fill, np.nan, expected)
            elif e["dtype"].startswith(("int", "uint")) and values.dtype.kind == "f":
                errors.append(f"{where}: xarray masked an integer variable without a fill value")
            if not same(values.astype(values.dtype.newbyteorder("=")), exp.astype(values.dtype)):
                errors.append(f"{where}: xarray values differ")
        if ds.attrs.get("title") != "written by cubist":
            errors.append(f"{e['store']}: group attrs {ds.attrs}")
    except Exception as ex:  # noqa: BLE001
        errors.append(f"{where}: xarray failed: {ex!r}")

for err in errors:
    print("MISMATCH", err)
print(f"checked {len(manifest)} arrays, {len(errors)} mismatches")
sys.exit(1 if errors else 0)
