"""Oracle for cubist's clip: rioxarray's rio.write_crs().rio.clip() on the same cube.

Usage: check_clip.py OUT_DIR CATCHMENT_GEOJSON (run with Debian's /usr/bin/python3)."""
import json
import sys

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

out, catchment = sys.argv[1], sys.argv[2]
with open(catchment) as f:
    geoms = [feat["geometry"] for feat in json.load(f)["features"]]

cube = xr.open_zarr(f"{out}/cube.zarr")
# xarray + rioxarray recover the CRS cubist wrote (spatial_ref coordinate, grid_mapping).
assert cube.data.rio.crs is not None, "rioxarray finds no CRS in cubist's cube.zarr"
assert cube.data.rio.crs.to_epsg() == 32632, cube.data.rio.crs
src = cube.data.load()

failures = []
for name, all_touched in (("clipped", False), ("clipped_touched", True)):
    ours = xr.open_zarr(f"{out}/{name}.zarr").data.load()
    if ours.rio.crs is None or ours.rio.crs.to_epsg() != 32632:
        failures.append(f"{name}: CRS not recovered: {ours.rio.crs}")
    ref = src.rio.write_crs("EPSG:32632").rio.clip(geoms, crs="OGC:CRS84", all_touched=all_touched)
    if ours.shape != ref.shape:
        failures.append(f"{name}: shape {ours.shape} != rioxarray {ref.shape}")
        continue
    for c in ("x", "y"):
        if not np.array_equal(ours[c].values, ref[c].values):
            failures.append(f"{name}: {c} coordinates differ")
    a, b = ours.values, ref.values
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        failures.append(f"{name}: NaN positions differ at {int((np.isnan(a) != np.isnan(b)).sum())} pixels")
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.any() and np.abs(a[both] - b[both]).max() > 1e-6:
        failures.append(f"{name}: values differ by {np.abs(a[both] - b[both]).max()}")
    if ours.rio.transform() != ref.rio.transform():
        failures.append(f"{name}: transform {ours.rio.transform()} != {ref.rio.transform()}")
    print(f"{name}: shape {ours.shape}, {int(np.isnan(a).sum())} NaN, matches rioxarray" if not failures else name)

if failures:
    print("\n".join(failures))
    sys.exit(1)
