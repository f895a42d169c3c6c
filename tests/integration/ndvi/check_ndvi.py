"""Integration check: cubist's ndvi.zarr (from `cubist demo`) equals the Python stack's composite.

usage: check_ndvi.py WORKDIR CATCHMENT_GEOJSON [SIZE]

- the items cubist found through its STAC API equal the manifest filtered independently here;
- values within 1e-6 of the rioxarray(mask_and_scale) reference, identical NaN positions, same
  time/y/x coordinates; and within 1e-12 of a float64 decode (no float32 step), which pins the
  arithmetic down further;
- xarray + rioxarray read cubist's store and recover the CRS (EPSG:32632) and the transform.
Exits non-zero with a message naming what differs.
"""
import json
import os
import sys
import warnings

import numpy as np
import rioxarray  # noqa: F401
import xarray as xr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ndvi_reference as ref  # noqa: E402


# dask's per-chunk nanmax warns on chunks with no valid pixel; all-NaN results are compared below.
warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def float64_reference(data_dir, catchment_path):
    """Same steps, decoding uint16 -> float64 by hand (stackstac's order: value * scale + offset)."""
    items = ref.search_manifest(data_dir, catchment_path)
    import pandas as pd

    times = pd.DatetimeIndex([pd.Timestamp(it["properties"]["datetime"]).tz_convert(None) for it in items], name="time")

    def band(it, asset):
        a = rioxarray.open_rasterio(os.path.join(data_dir, it["assets"][asset]["href"]), mask_and_scale=False,
                                    chunks={"x": ref.CHUNK, "y": ref.CHUNK}, lock=False)
        a = a.squeeze("band", drop=True)
        rb = it["assets"][asset]["raster:bands"][0]
        v = a.astype("float64")
        return v.where(a != rb["nodata"]) * rb["scale"] + rb["offset"]

    red = xr.concat([band(it, "red") for it in items], dim=times, join="outer")
    nir = xr.concat([band(it, "nir") for it in items], dim=times, join="outer")
    red, nir = red.sortby("y", ascending=False), nir.sortby("y", ascending=False)
    ndvi = ((nir - red) / (nir + red)).rio.write_crs("EPSG:32632").rio.write_nodata(np.nan)
    clipped = ndvi.rio.clip(ref.catchment_geometries(catchment_path), crs=4326)
    return clipped.groupby(clipped.time.dt.floor("D").rename("time")).max(skipna=True)


def compare(name, ours, theirs, atol):
    if ours.dims != theirs.dims:
        fail(f"{name}: dims {ours.dims} != {theirs.dims}")
    if ours.shape != theirs.shape:
        fail(f"{name}: shape {ours.shape} != {theirs.shape} (coords x {ours.x.values[[0, -1]]} vs "
             f"{theirs.x.values[[0, -1]]}, y {ours.y.values[[0, -1]]} vs {theirs.y.values[[0, -1]]})")
    for c in ("time", "y", "x"):
        if not np.array_equal(ours[c].values, theirs[c].values):
            fail(f"{name}: coordinate {c} differs: {ours[c].values[:3]}... vs {theirs[c].values[:3]}...")
    a, b = ours.values, theirs.values
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        idx = np.argwhere(nan_a != nan_b)
        fail(f"{name}: NaN positions differ at {len(idx)} pixels, first (time, y, x) = {tuple(idx[0])}: "
             f"cubist {a[tuple(idx[0])]} vs reference {b[tuple(idx[0])]}")
    diff = np.abs(np.where(nan_a, 0, a - b))
    worst = float(diff.max()) if diff.size else 0.0
    if worst > atol:
        i = np.unravel_index(np.argmax(diff), diff.shape)
        fail(f"{name}: max |difference| {worst:.3g} > {atol:g} at (time, y, x) = {i}: {a[i]} vs {b[i]}")
    valid = int((~nan_a).sum())
    print(f"ok {name}: shape {a.shape}, {valid} valid pixels ({valid / max(a.size, 1):.1%}), max |diff| {worst:.3g}")
    if valid == 0:
        fail(f"{name}: no valid pixel at all; the comparison would prove nothing")


def main():
    workdir, catchment = sys.argv[1], sys.argv[2]
    size = sys.argv[3] if len(sys.argv) > 3 else "small"
    data_dir = os.path.join(workdir, f"data-{size}")
    store = os.path.join(workdir, "ndvi.zarr")

    # The search: what cubist found over HTTP vs the manifest filtered here.
    with open(os.path.join(workdir, "items-found.geojson")) as f:
        found = sorted(it["id"] for it in json.load(f)["features"])
    expected = sorted(it["id"] for it in ref.search_manifest(data_dir, catchment))
    if found != expected:
        fail(f"search: cubist found {found}, expected {expected}")
    print(f"ok search: {len(found)} items")

    ds = xr.open_zarr(store)
    if "data" not in ds:
        fail(f"{store}: no variable 'data' (has {list(ds.data_vars)})")
    ours = ds["data"].load()
    crs = ours.rio.crs
    if crs is None or crs.to_epsg() != 32632:
        fail(f"{store}: rioxarray recovers CRS {crs}, expected EPSG:32632")
    t = ours.rio.transform()
    if abs(t.a - 10) > 1e-9 or abs(t.e + 10) > 1e-9:
        fail(f"{store}: rioxarray recovers transform {t}, expected 10 m pixels")
    print(f"ok CRS: {crs.to_string()}, transform {tuple(t)[:6]}")

    # Both references are dask-chunked, so memory stays bounded (eager numpy needed ~22 GB on
    # `medium`); chunking does not change any value: every step is elementwise or a max.
    reference, _ = ref.ndvi_composite(data_dir, catchment, chunked=True)
    compare("vs rioxarray mask_and_scale", ours, reference.load(), 1e-6)
    compare("vs float64 decode", ours, float64_reference(data_dir, catchment).load(), 1e-12)
    print("PASS")


if __name__ == "__main__":
    main()
