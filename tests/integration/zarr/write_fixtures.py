#!/usr/bin/python3
"""Oracle: zarr-python / xarray write stores that cubist must read with identical values.

Usage: write_fixtures.py OUTDIR
Writes OUTDIR/<store>.zarr plus, per array, OUTDIR/expected/<id>.bin (the logical values,
C order, little-endian) and OUTDIR/manifest.json describing what cubist should find.
Run with Debian's /usr/bin/python3 (zarr 2.13, xarray, numpy, numcodecs).
"""
import json
import os
import sys

import numcodecs
import numpy as np
import pandas as pd
import xarray as xr
import zarr

out = sys.argv[1]
os.makedirs(os.path.join(out, "expected"), exist_ok=True)
manifest = []
rng = np.random.default_rng(42)

CUBIST_DTYPE = {"bool": "bool", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
                "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
                "float32": "float32", "float64": "float64", "datetime64[ns]": "datetime64[ns]"}


def save_expected(ident, values):
    values = np.require(values, requirements="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
    native = values.astype(values.dtype.newbyteorder("<"))
    path = os.path.join(out, "expected", ident + ".bin")
    native.tofile(path)
    return os.path.relpath(path, out), CUBIST_DTYPE[values.dtype.newbyteorder("=").name], list(values.shape)


def sample(dtype, shape):
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        v = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        v = rng.integers(max(info.min, -10**6), min(info.max, 10**6), n, endpoint=True).astype(dt)
        v[0], v[-1] = info.min, info.max
    elif dt.kind == "f":
        # smooth-ish data so compressors have something to do, plus specials
        v = (np.sin(np.arange(n) / 7.0) * 100).astype(dt)
        v[1] = np.nan
        v[2] = np.inf
        v[3] = -np.inf
    elif dt.kind == "M":
        v = (np.datetime64("2000-01-01T00:00:00", "ns") + np.arange(n) * np.timedelta64(3600, "s")).astype(dt)
    return v.reshape(shape)


def zarr_arrays(store_name, consolidated):
    path = os.path.join(out, store_name)
    root = zarr.open_group(path, mode="w")
    root.attrs["title"] = store_name

    def add(name, values, chunks, compressor=None, fill_value=0, order="C", dimension_separator=None,
            write_region=None, dtype=None, dims=None):
        kwargs = {}
        if dimension_separator:
            kwargs["dimension_separator"] = dimension_separator
        a = root.create(name, shape=values.shape, chunks=chunks, dtype=dtype or values.dtype, compressor=compressor,
                        fill_value=fill_value, order=order, **kwargs)
        if dims:
            a.attrs["_ARRAY_DIMENSIONS"] = dims
        expected = values
        if write_region is None:
            a[...] = values
        else:  # only part written: the rest of the chunks are missing and read as fill_value
            a[write_region] = values[write_region]
            expected = np.full(values.shape, fill_value if fill_value is not None else 0, dtype=values.dtype)
            expected[write_region] = values[write_region]
        ident = f"{store_name}-{name}"
        rel, dt, shape = save_expected(ident, expected)
        manifest.append({"kind": "array", "store": store_name, "array": name, "expected": rel, "dtype": dt,
                         "shape": shape, "chunks": list(a.chunks), "dims": dims})

    shape, chunks = (7, 10, 9), (3, 4, 5)  # edge chunks on every axis
    for dt in ["bool", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f4", "<f8", ">f4", ">f8", ">i2", ">i8",
               ">u4", "<M8[ns]"]:
        v = sample(dt, shape)
        name = "dt_" + dt.replace("<", "le_").replace(">", "be_").replace("|", "").replace("[", "_").replace("]", "")
        fill = np.datetime64("NaT") if dt.endswith("M8[ns]") else (False if dt == "bool" else 0)
        add(name, v, chunks, compressor=numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE), fill_value=fill,
            dims=["t", "y", "x"])
    base = sample("<f4", shape)
    for cname in ["lz4", "lz4hc", "zstd", "zlib", "blosclz"]:
        for shuffle, sname in [(numcodecs.Blosc.NOSHUFFLE, "noshuffle"), (numcodecs.Blosc.SHUFFLE, "shuffle"),
                               (numcodecs.Blosc.BITSHUFFLE, "bitshuffle"), (numcodecs.Blosc.AUTOSHUFFLE, "autoshuffle")]:
            add(f"blosc_{cname}_{sname}", base, chunks, compressor=numcodecs.Blosc(cname, 5, shuffle), fill_value=np.nan)
    add("blosc_u1_autoshuffle", sample("|u1", shape), chunks, compressor=numcodecs.Blosc("zstd", 3, -1))
    add("zstd", base, chunks, compressor=numcodecs.Zstd(level=3), fill_value=np.nan)
    add("lz4", base, chunks, compressor=numcodecs.LZ4(), fill_value=np.nan)
    add("zlib", base, chunks, compressor=numcodecs.Zlib(level=5), fill_value=np.nan)
    add("gzip", base, chunks, compressor=numcodecs.GZip(level=5), fill_value=np.nan)
    add("none", base, chunks, compressor=None, fill_value=np.nan)
    add("order_f", sample("<i4", shape), chunks, compressor=numcodecs.Zstd(1), order="F")
    add("order_f_be", sample(">f8", shape), chunks, compressor=None, order="F", fill_value=np.nan)
    add("nested_sep", base, chunks, compressor=numcodecs.Blosc("lz4", 5, 1), dimension_separator="/", fill_value=np.nan)
    for fv, fname in [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "neginf"), (1.5, "num")]:
        add(f"missing_fill_{fname}", base, chunks, compressor=numcodecs.Zstd(1), fill_value=fv,
            write_region=(slice(0, 3), slice(0, 4), slice(0, 5)))
    add("missing_fill_int42", sample("<i2", shape), chunks, compressor=None, fill_value=42,
        write_region=(slice(3, 6), slice(None), slice(None)))
    add("missing_fill_none", sample("<u2", shape), chunks, compressor=None, fill_value=None,
        write_region=(slice(0, 3), slice(None), slice(None)))
    add("scalar", np.array(3.25, dtype="<f8"), (), compressor=None, fill_value=np.nan)
    add("one_d", np.arange(17, dtype="<i8"), (5,), compressor=numcodecs.LZ4())
    if consolidated:
        zarr.consolidate_metadata(path)


def xarray_dataset(store_name, consolidated):
    path = os.path.join(out, store_name)
    nt, ny, nx = 5, 6, 7
    time = pd.date_range("2000-01-01", periods=nt, freq="D")
    data = rng.random((nt, ny, nx)).astype("float32")
    data[0, 0, 0] = np.nan
    counts = rng.integers(0, 1000, (nt, ny, nx)).astype("float64")
    counts[1, 2, 3] = np.nan  # encoded as _FillValue
    hourly = pd.date_range("2001-03-04 05:00", periods=nt, freq="6H")
    ds = xr.Dataset(
        {"data": (("time", "y", "x"), data, {"long_name": "random data", "units": "1"}),
         "counts": (("time", "y", "x"), counts),
         "stamp": (("time",), hourly.values)},
        coords={"time": time, "y": np.arange(ny, dtype="float64") * 10.0, "x": np.arange(nx, dtype="int32")},
        attrs={"title": "xarray fixture", "history": "written by write_fixtures.py"})
    encoding = {"data": {"chunks": (2, 3, 4)},
                "counts": {"dtype": "int16", "scale_factor": 0.5, "add_offset": 10.0, "_FillValue": -1,
                           "chunks": (1, 6, 7)}}
    ds.to_zarr(path, mode="w", consolidated=consolidated, encoding=encoding)
    back = xr.open_zarr(path, consolidated=consolidated)
    for name in ["data", "counts", "stamp", "time", "y", "x"]:
        values = back[name].values
        ident = f"{store_name}-{name}"
        rel, dt, shape = save_expected(ident, values)
        manifest.append({"kind": "xarray", "store": store_name, "array": name, "expected": rel, "dtype": dt,
                         "shape": shape, "dims": list(back[name].dims),
                         "attrs": {k: v for k, v in back[name].attrs.items() if isinstance(v, (str, int, float))}})


zarr_arrays("arrays.zarr", consolidated=False)
zarr_arrays("arrays_consolidated.zarr", consolidated=True)
xarray_dataset("xr_consolidated.zarr", consolidated=True)
xarray_dataset("xr_plain.zarr", consolidated=False)
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"wrote {len(manifest)} arrays")
