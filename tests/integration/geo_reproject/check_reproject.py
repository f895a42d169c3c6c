"""Oracle for cubist's reproject: rioxarray's rio.reproject on the same cube.

Every case must give the same grid (shape, x/y coordinates and their attributes, CRS), identical
NaN positions and values within 1e-9. Both sides use GDAL's approximate transformer (0.125 source
pixels): rasterio 1.3's reproject() has no tolerance argument, so exact transformations cannot be
compared here (tests/geo checks them against the whole-array warp).

Usage: check_reproject.py OUT_DIR (run with Debian's /usr/bin/python3)."""
import json
import sys

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from rasterio.enums import Resampling

out = sys.argv[1]
cases = json.load(open(f"{out}/cases.json"))
src = xr.open_zarr(f"{out}/cube.zarr").data.load()
assert src.rio.crs is not None and src.rio.crs.to_epsg() == 32632, src.rio.crs

failures = []
for case in cases:
    name = case["name"]
    ours = xr.open_zarr(f"{out}/{name}.zarr").data.load()
    # nodata=NaN: cubist's fill for floats (rioxarray 0.13 would fill with the dtype's maximum).
    kwargs = {"resampling": Resampling[case["resampling"]], "nodata": np.nan}
    if "resolution" in case:
        kwargs["resolution"] = tuple(case["resolution"])
    ref = src.rio.reproject(case["crs"], **kwargs)
    problems = []
    if ours.rio.crs is None or ours.rio.crs != ref.rio.crs:
        problems.append(f"CRS {ours.rio.crs} != {ref.rio.crs}")
    if ours.dims != ref.dims or ours.shape != ref.shape:
        failures.append(f"{name}: dims/shape {ours.dims} {ours.shape} != rioxarray {ref.dims} {ref.shape}")
        continue
    for c in ("x", "y"):
        if not np.array_equal(ours[c].values, ref[c].values):
            problems.append(f"{c} coordinates differ by {np.abs(ours[c].values - ref[c].values).max()}")
        for k, v in ref[c].attrs.items():
            if ours[c].attrs.get(k) != v:
                problems.append(f"{c}.attrs[{k}] = {ours[c].attrs.get(k)!r}, rioxarray {v!r}")
    if not np.array_equal(ours.time.values, ref.time.values):
        problems.append("time coordinates differ")
    a, b = ours.values, ref.values
    nan_diff = int((np.isnan(a) != np.isnan(b)).sum())
    both = ~np.isnan(a) & ~np.isnan(b)
    diff = np.abs(a[both] - b[both]) if both.any() else np.zeros(1)
    max_diff = float(diff.max())
    off = int((diff > 1e-9).sum()) + nan_diff
    if nan_diff:
        problems.append(f"NaN positions differ at {nan_diff} of {a.size} pixels")
    if max_diff > 1e-9:
        problems.append(f"values differ by up to {max_diff} at {int((diff > 1e-9).sum())} pixels")
    print(f"{name}: shape {a.shape}, {int(np.isnan(b).sum())} NaN in rioxarray's, NaN positions differ at {nan_diff}, "
          f"max abs diff {max_diff:.3g}, pixels off {off} of {a.size}" + ("" if not problems else " -- " + "; ".join(problems)))
    failures += [f"{name}: {p}" for p in problems]

if failures:
    print("\n".join(failures))
    sys.exit(1)
