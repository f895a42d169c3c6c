#!/usr/bin/python3
"""GDAL's Zarr driver reads the stores cubist wrote (zarr_gdal_write), with identical values.

Usage: check_gdal.py STORES_DIR
For v2.zarr: `gdalinfo` lists the variables and describes them (size, type, block, nodata,
geotransform from the x/y coordinates); `gdal_translate -of GTiff ZARR:"path":/var` (for the 3-D
variable one time slice, ZARR:"path":/var:T) writes GeoTIFFs whose pixels, read back with
osgeo.gdal, equal the values cubist wrote (.npy); the multidimensional API reads the whole 3-D
array with its dimension names and units.
For the v3 stores: GDAL 3.6 implements only an older draft of Zarr v3, so it is asked and its
answer reported; when it cannot read them the check says so and does not fail (zarrita verifies
v3: check_zarrita.mjs). A GDAL that does read them must read them identically.
Run with Debian's /usr/bin/python3 (python3-gdal, numpy) and gdal-bin on PATH.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
stores = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def expected(name):
    return np.load(os.path.join(stores, name + ".npy"))


def same(got, want):
    return got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)


def translate_and_read(subdataset, tmp, tag):
    tif = os.path.join(tmp, tag + ".tif")
    r = run("gdal_translate", "-q", "-of", "GTiff", subdataset, tif)
    if r.returncode != 0:
        return None, r.stderr.strip()
    ds = gdal.Open(tif)
    return ds, ""


def check_v2(path, tmp):
    store = os.path.basename(path)
    temperature, elevation = expected("temperature"), expected("elevation")
    xs, ys = expected("x"), expected("y")

    r = run("gdalinfo", "-json", f'ZARR:"{path}"')
    check(r.returncode == 0, f"gdalinfo {store}: {r.stderr.strip()}")
    if r.returncode == 0:
        subs = json.loads(r.stdout).get("metadata", {}).get("SUBDATASETS", {})
        names = sorted(v for k, v in subs.items() if k.endswith("_NAME"))
        for var in ("temperature", "elevation"):
            check(f'ZARR:"{path}":/{var}' in names, f"gdalinfo {store}: no subdataset for {var} in {names}")

    # 2-D variable: the whole array.
    sub = f'ZARR:"{path}":/elevation'
    info = json.loads(run("gdalinfo", "-json", sub).stdout or "{}")
    check(info.get("size") == [53, 37], f"gdalinfo {sub}: size {info.get('size')}")
    band = (info.get("bands") or [{}])[0]
    check(band.get("type") == "Int16", f"gdalinfo {sub}: type {band.get('type')}")
    check(band.get("block") == [20, 10], f"gdalinfo {sub}: block {band.get('block')}")
    # GDAL derives the geotransform from the x/y coordinate variables cubist wrote.
    gt = info.get("geoTransform")
    want_gt = [xs[0] - 5.0, 10.0, 0.0, ys[0] + 5.0, 0.0, -10.0]
    check(gt is not None and np.allclose(gt, want_gt), f"gdalinfo {sub}: geoTransform {gt}, expected {want_gt}")
    ds, err = translate_and_read(sub, tmp, "elevation")
    check(ds is not None, f"gdal_translate {sub}: {err}")
    if ds is not None:
        got = ds.GetRasterBand(1).ReadAsArray()
        check(same(got, elevation), f"gdal_translate {sub}: GeoTIFF pixels differ from cubist's values")
        print(f"ok: GDAL {gdal.__version__} gdal_translate {sub} -> GTiff {got.dtype} {got.shape} identical")

    # 3-D variable: one 2-D slice per time index, NaN holes kept (nodata NaN).
    for t in range(temperature.shape[0]):
        sub = f'ZARR:"{path}":/temperature:{t}'
        info = json.loads(run("gdalinfo", "-json", sub).stdout or "{}")
        band = (info.get("bands") or [{}])[0]
        check(band.get("type") == "Float32", f"gdalinfo {sub}: type {band.get('type')}")
        check(str(band.get("noDataValue")).lower() == "nan", f"gdalinfo {sub}: nodata {band.get('noDataValue')}")
        ds, err = translate_and_read(sub, tmp, f"temperature_{t}")
        check(ds is not None, f"gdal_translate {sub}: {err}")
        if ds is not None:
            got = ds.GetRasterBand(1).ReadAsArray()
            check(same(got, temperature[t]), f"gdal_translate {sub}: GeoTIFF pixels differ from cubist's values")
    print(f"ok: GDAL gdal_translate of {temperature.shape[0]} time slices of {store}/temperature identical "
          f"({int(np.isnan(temperature).sum())} NaN)")

    # The multidimensional API: the whole cube, its dims and units.
    md = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER)
    arr = md.GetRootGroup().OpenMDArray("temperature")
    dims = [d.GetName() for d in arr.GetDimensions()]
    check(dims == ["time", "y", "x"], f"GDAL multidim {store}/temperature: dims {dims}")
    check(arr.GetUnit() == "K", f"GDAL multidim {store}/temperature: unit {arr.GetUnit()!r}")
    got = arr.ReadAsArray()
    check(same(got, temperature), f"GDAL multidim {store}/temperature: values differ")
    print(f"ok: GDAL multidim API read {store}/temperature {got.shape} dims {dims} identical")


def check_v3(path, tmp):
    """Reports whether this GDAL reads cubist's (final-spec) Zarr v3; checks values if it does."""
    store = os.path.basename(path)
    temperature = expected("temperature")
    try:
        md = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER)
        names = (md.GetRootGroup().GetMDArrayNames() if md else None) or []
    except RuntimeError:
        names = []
    if "temperature" not in names:
        print(f"note: GDAL {gdal.__version__} cannot read {store} (it implements an older draft of Zarr v3; "
              f"arrays it sees: {names}); Zarr v3 is verified with zarrita instead")
        return
    got = md.GetRootGroup().OpenMDArray("temperature").ReadAsArray()
    check(same(got, temperature), f"GDAL multidim {store}/temperature: values differ")
    ds, err = translate_and_read(f'ZARR:"{path}":/temperature:0', tmp, store + "_t0")
    check(ds is not None and same(ds.GetRasterBand(1).ReadAsArray(), temperature[0]),
          f"gdal_translate {store}/temperature:0: {err or 'values differ'}")
    print(f"ok: GDAL {gdal.__version__} read {store}/temperature identical")


with tempfile.TemporaryDirectory() as tmp:
    check_v2(os.path.join(stores, "v2.zarr"), tmp)
    for v3 in ("v3.zarr", "v3_gzip.zarr", "v3_sharded.zarr"):
        check_v3(os.path.join(stores, v3), tmp)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all GDAL checks passed")
