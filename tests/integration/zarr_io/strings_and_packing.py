#!/usr/bin/python3
"""Oracle for string coordinates and CF packing (scale_factor/add_offset/_FillValue on write),
against Debian's xarray (run with /usr/bin/python3).

  strings_and_packing.py write INPUT_JSON STORE
      xarray writes the dataset described by INPUT_JSON (see below) to STORE with the packing
      encoding, and prints nothing; cubist then reads STORE.
  strings_and_packing.py verify INPUT_JSON STORE SCRATCH
      STORE was written by cubist from the same input: xarray.open_zarr(STORE) must give the string
      coordinates and the decoded values xarray gets from its own store (written to SCRATCH), and
      the raw packed integers (zarr-python) must be identical to xarray's.

INPUT_JSON: {"band": [...], "label": [...] (along x), "x": [...], "refl": [[...]] (band, x; null = NaN),
             "scale_factor": f, "add_offset": f, "fill_value": i, "dtype": "int16"}
"""
import json
import sys

import numpy as np
import xarray as xr
import zarr


def dataset(spec):
    refl = np.array([[np.nan if v is None else v for v in row] for row in spec["refl"]], dtype=np.float32)
    return xr.Dataset(
        {"refl": (("band", "x"), refl, {"long_name": "reflectance"})},
        coords={"band": spec["band"], "x": np.array(spec["x"], dtype=np.int64), "label": ("x", spec["label"])},
    )


def encoding(spec):
    return {"refl": {"dtype": spec["dtype"], "scale_factor": spec["scale_factor"], "add_offset": spec["add_offset"],
                     "_FillValue": spec["fill_value"]}}


def fail(msg):
    print(f"strings_and_packing: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    mode, spec = sys.argv[1], json.load(open(sys.argv[2]))
    if mode == "write":
        dataset(spec).to_zarr(sys.argv[3], mode="w", encoding=encoding(spec))
        return
    store, scratch = sys.argv[3], sys.argv[4]
    dataset(spec).to_zarr(scratch, mode="w", encoding=encoding(spec))
    mine, theirs = xr.open_zarr(store), xr.open_zarr(scratch)
    for c in ("band", "label"):
        if c not in mine.coords:
            fail(f"coordinate '{c}' missing from {store}: {list(mine.coords)}")
        got, want = mine[c].values.tolist(), theirs[c].values.tolist()
        if got != want or mine[c].dims != theirs[c].dims or mine[c].dtype.kind != "U":
            fail(f"coordinate '{c}': {got} {mine[c].dims} {mine[c].dtype} != {want} {theirs[c].dims}")
    raw_mine, raw_theirs = zarr.open(store, mode="r")["refl"], zarr.open(scratch, mode="r")["refl"]
    if raw_mine.dtype != raw_theirs.dtype or not np.array_equal(raw_mine[:], raw_theirs[:]):
        fail(f"packed values differ: {raw_mine.dtype} {raw_mine[:].tolist()} != {raw_theirs.dtype} {raw_theirs[:].tolist()}")
    if raw_mine.fill_value != raw_theirs.fill_value:
        fail(f"fill values differ: {raw_mine.fill_value} != {raw_theirs.fill_value}")
    a, b = mine["refl"].values, theirs["refl"].values
    if a.dtype != b.dtype or not np.array_equal(a, b, equal_nan=True):
        fail(f"decoded values differ: {a.dtype} {a.tolist()} != {b.dtype} {b.tolist()}")
    for k in ("scale_factor", "add_offset", "_FillValue"):
        if mine["refl"].encoding.get(k) != theirs["refl"].encoding.get(k):
            fail(f"encoding '{k}': {mine['refl'].encoding.get(k)} != {theirs['refl'].encoding.get(k)}")
    if mine["refl"].attrs != theirs["refl"].attrs:
        fail(f"attrs {mine['refl'].attrs} != {theirs['refl'].attrs}")


if __name__ == "__main__":
    main()
