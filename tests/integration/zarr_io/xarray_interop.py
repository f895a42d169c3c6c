#!/usr/bin/python3
"""Oracle for cubist's open_zarr / to_zarr against Debian's xarray (run with /usr/bin/python3).

  xarray_interop.py write OUTDIR
      xarray.to_zarr writes small stores shaped like the seed's test.zarr (and CF-encoded variants)
      into OUTDIR/<name>.zarr, each with OUTDIR/<name>.zarr.json: what xarray.open_zarr decodes
      (dims, dtypes, coords, attrs, values) -- cubist's open_zarr must find exactly that.
  xarray_interop.py verify STORE EXPECTED_JSON
      xarray.open_zarr(STORE) must equal the description cubist wrote (same schema).

Schema: {"attrs": {...}, "data_vars": {name: VAR}, "coords": {name: VAR}} with
VAR = {"dims": [...], "dtype": "float64", "attrs": {...}, "shape": [...], "values": [flat, C order]}
(NaN -> null, datetime64 -> int64 nanoseconds, NaT -> null).
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
import xarray as xr


def jsonable(v):
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, np.generic):
        return jsonable(v.item())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def describe_var(var):
    values = var.values
    if values.dtype.kind == "M":
        ns = values.astype("datetime64[ns]").astype("int64")
        flat = [None if x == np.iinfo(np.int64).min else int(x) for x in ns.ravel()]
        dtype = "datetime64[ns]"
    else:
        flat = jsonable([x for x in values.ravel()])
        dtype = values.dtype.name
    return {"dims": list(var.dims), "dtype": dtype, "attrs": jsonable(dict(var.attrs)),
            "shape": list(values.shape), "values": flat}


def describe(ds):
    ds = ds.load()
    return {"attrs": jsonable(dict(ds.attrs)),
            "data_vars": {str(k): describe_var(v) for k, v in ds.data_vars.items()},
            "coords": {str(k): describe_var(v) for k, v in ds.coords.items()}}


def seed_like(nt=4, ny=5, nx=6):
    """The seed's test.zarr at small scale: `data` (time, y, x) float64 with NaN, CF time."""
    t, y, x = np.meshgrid(np.arange(nt), np.arange(ny), np.arange(nx), indexing="ij")
    data = t * 100.0 + y * 10.0 + x + 0.25
    data[(t + y + x) % 7 == 0] = np.nan
    return xr.Dataset(
        {"data": (("time", "y", "x"), data, {"units": "K", "long_name": "test data"})},
        coords={"time": pd.date_range("2020-01-01", periods=nt, freq="D"),
                "y": ("y", np.linspace(50.0, 49.0, ny), {"units": "degrees_north"}),
                "x": ("x", np.arange(nx) * 0.5 + 7.0)},
        attrs={"title": "seed-like", "version": 3, "ratio": 0.5, "tags": ["a", "b"]})


def write(out):
    os.makedirs(out, exist_ok=True)
    stores = {}
    ds = seed_like()
    stores["seed.zarr"] = (ds, {"data": {"chunks": (1, 3, 4)}}, True)
    stores["seed_unconsolidated.zarr"] = (ds, {}, False)

    # CF encodings: int16 with _FillValue + scale/offset, uint8 with a fill, float32, a 2-d
    # non-index coordinate, hourly times.
    rng = np.random.default_rng(7)
    temp = np.round(rng.uniform(-10, 30, (3, 4, 5)), 1)
    temp[0, 0, :2] = np.nan
    counts = rng.integers(0, 200, (4, 5)).astype(np.uint8)
    cf = xr.Dataset(
        {"temp": (("time", "y", "x"), temp, {"long_name": "temperature"}),
         "counts": (("y", "x"), counts),
         "f32": (("y", "x"), rng.standard_normal((4, 5)).astype(np.float32)),
         # xarray stores datetimes with NaT as float64 + NaN fill (and warns while encoding)
         "when": (("y",), np.array(["2019-12-30T06:00", "NaT", "2019-12-30T08:00", "2020-01-02"], dtype="datetime64[ns]"))},
        coords={"time": pd.date_range("2021-06-01T06:00", periods=3, freq="h"),
                "lat": (("y", "x"), np.linspace(40, 41, 20).reshape(4, 5))},
        attrs={"source": "xarray"})
    enc = {"temp": {"dtype": "int16", "_FillValue": -9999, "scale_factor": 0.1, "add_offset": 5.0, "chunks": (2, 2, 5)},
           "counts": {"_FillValue": 255}}
    stores["cf.zarr"] = (cf, enc, True)

    warnings.simplefilter("ignore", RuntimeWarning)  # xarray's own NaT encoding warns
    for name, (dset, encoding, consolidated) in stores.items():
        path = os.path.join(out, name)
        dset.to_zarr(path, mode="w", encoding=encoding, consolidated=consolidated)
        with open(path + ".json", "w") as f:
            json.dump(describe(xr.open_zarr(path, consolidated=consolidated)), f)
    print("wrote", ", ".join(stores))


def same_values(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x is None or y is None:
            if x is not y:
                return False
        elif x != y:
            return False
    return True


def verify(store, expected_path):
    warnings.simplefilter("ignore", RuntimeWarning)  # xarray decoding NaT warns on the cast
    with open(expected_path) as f:
        expected = json.load(f)
    got = describe(xr.open_zarr(store))
    errors = []
    if got["attrs"] != expected["attrs"]:
        errors.append(f"dataset attrs: xarray {got['attrs']} != cubist {expected['attrs']}")
    for kind in ("data_vars", "coords"):
        if set(got[kind]) != set(expected[kind]):
            errors.append(f"{kind}: xarray {sorted(got[kind])} != cubist {sorted(expected[kind])}")
            continue
        for name, e in expected[kind].items():
            g = got[kind][name]
            for field in ("dims", "dtype", "shape", "attrs"):
                if g[field] != e[field]:
                    errors.append(f"{kind} '{name}' {field}: xarray {g[field]} != cubist {e[field]}")
            if not same_values(g["values"], e["values"]):
                errors.append(f"{kind} '{name}' values: xarray {g['values'][:8]}... != cubist {e['values'][:8]}...")
    if errors:
        print(f"{store}: {len(errors)} mismatch(es)")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print(f"{store}: xarray.open_zarr matches cubist")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
