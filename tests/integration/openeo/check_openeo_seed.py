"""Integration check: `cubist run` of the seed pipeline as an openEO graph equals `cubist demo`.

usage: check_openeo_seed.py CUBIST WORKDIR CATCHMENT SOURCE_DIR

WORKDIR holds `cubist demo --size small`'s cached data and its ndvi.zarr (the C++ API's result).
The demo's STAC API is served again (`cubist demo --serve`); then
- examples/openeo/seed_ndvi_daily_max.json with filter_spatial in place of mask_polygon (crop and
  mask, what the C++ pipeline's clip does) must give the same store on the days holding data:
  identical values and NaNs, coordinates, attributes and spatial chunks; openEO's daily periods
  cover every day of the temporal extent, and the days without items must be all NaN;
- the example itself (mask_polygon keeps the loaded extent) must hold the same values on the C++
  result's grid and only NaN elsewhere;
- its maximum over time saved as GTiff is a valid COG (GDAL's validator; DEFLATE, tiled, with
  overviews) holding xarray's max over time of the C++ result;
- a graph failing at run time leaves no output.
Run with Debian's /usr/bin/python3.
"""
import json
import os
import sys
import tempfile

import numpy as np
import xarray as xr

from openeo_fixture import (demo_stac_api, fail, on_reference_days, run_graph as run, seed_graph, with_filter_spatial,
                            write_graph)


def check_cog(cubist, doc, reference, tmp, url):
    """The seed result's maximum over time saved as GTiff: a valid Cloud Optimized GeoTIFF (GDAL's
    own validator: tiled, overviews after the full-resolution image, IFDs first), DEFLATE, with
    overviews, holding xarray's max over time of the C++ result on its grid."""
    from osgeo import gdal
    from osgeo_utils.samples import validate_cloud_optimized_geotiff as cog
    g = with_filter_spatial(doc)
    pg = g["process_graph"]
    pg["tmax"] = {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "daily"}, "dimension": "t", "reducer": {"process_graph": {"m": {
            "process_id": "max", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}}
    pg["save"]["arguments"].update({"data": {"from_node": "tmax"}, "format": "GTiff"})
    tif = os.path.join(tmp, "max.tif")
    run(cubist, write_graph(g, os.path.join(tmp, "max_gtiff.json")), tif, url)
    warnings, errors, _ = cog.validate(tif, full_check=True)
    if errors:
        fail(f"GTiff output is not a valid COG: {errors}")
    ds = gdal.Open(tif)
    band = ds.GetRasterBand(1)
    structure = ds.GetMetadata("IMAGE_STRUCTURE")
    if structure.get("COMPRESSION") != "DEFLATE" or structure.get("LAYOUT") != "COG":
        fail(f"GTiff output structure {structure}")
    if band.GetBlockSize()[0] >= ds.RasterXSize or band.GetOverviewCount() < 1:
        fail(f"GTiff output: blocks {band.GetBlockSize()} of {ds.RasterXSize}x{ds.RasterYSize}, {band.GetOverviewCount()} overviews")
    got = band.ReadAsArray()
    want = reference.max("time").values
    if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
        fail(f"GTiff values differ from xarray's max over time of the C++ result")
    gt = ds.GetGeoTransform()
    if gt[1] != float(reference.x[1] - reference.x[0]) or gt[0] != float(reference.x[0]) - gt[1] / 2:
        fail(f"GTiff geotransform {gt} vs the C++ result's x {reference.x.values[:2]}")
    ds = None


def main():
    cubist, workdir, catchment, source = sys.argv[1:5]
    reference = xr.open_zarr(os.path.join(workdir, "ndvi.zarr"))
    doc = seed_graph(source, catchment)
    with demo_stac_api(cubist, workdir, catchment) as url:
        with tempfile.TemporaryDirectory() as tmp:
            masked_graph = write_graph(doc, os.path.join(tmp, "seed_mask_polygon.json"))
            crop_graph = write_graph(with_filter_spatial(doc), os.path.join(tmp, "seed_filter_spatial.json"))

            run(cubist, crop_graph, os.path.join(tmp, "crop.zarr"), url)
            every_day = xr.open_zarr(os.path.join(tmp, "crop.zarr"))
            on_reference_days(every_day["data"], reference["data"], "filter_spatial graph")
            ours = every_day.sel(time=reference["time"].values)
            a, r = ours["data"], reference["data"]
            if a.dims != r.dims or a.shape != r.shape:
                fail(f"filter_spatial graph: {a.dims} {a.shape} vs the C++ result's {r.dims} {r.shape}")
            for c in ("time", "y", "x"):
                if not np.array_equal(a[c].values, r[c].values):
                    fail(f"filter_spatial graph: coordinate {c} differs")
            if not np.array_equal(a.values, r.values, equal_nan=True):
                fail(f"filter_spatial graph: values differ (max abs diff {np.nanmax(np.abs(a.values - r.values))})")
            if a.attrs != r.attrs or every_day["data"].encoding.get("chunks")[1:] != r.encoding.get("chunks")[1:]:
                fail(f"filter_spatial graph: attrs/chunks differ: {a.attrs} {a.encoding.get('chunks')} vs "
                     f"{r.attrs} {r.encoding.get('chunks')}")
            # aggregate_temporal_period adds openEO's period labels (day: YYYY-DDD) as a coordinate.
            if sorted(ours.variables) != sorted(list(reference.variables) + ["period"]):
                fail(f"filter_spatial graph: variables {sorted(ours.variables)} vs {sorted(reference.variables)} + period")
            want = [f"{t.year:04}-{t.dayofyear:03}" for t in a.indexes["time"]]
            if list(ours["period"].values) != want or ours["period"].dims != ("time",):
                fail(f"filter_spatial graph: period labels {list(ours['period'].values)} vs {want}")

            run(cubist, masked_graph, os.path.join(tmp, "masked.zarr"), url)
            m = on_reference_days(xr.open_zarr(os.path.join(tmp, "masked.zarr"))["data"], r, "mask_polygon graph")
            if not np.array_equal(m.sel(x=r.x, y=r.y).values, r.values, equal_nan=True):
                fail("mask_polygon graph: values on the C++ result's grid differ")
            outside = m.where(~(m.x.isin(r.x.values) & m.y.isin(r.y.values)))
            if np.isfinite(outside.values).any():
                fail("mask_polygon graph: data outside the catchment's window")

            check_cog(cubist, doc, r, tmp, url)

            bad = json.loads(json.dumps(doc))
            bad["process_graph"]["ndvi"]["arguments"]["red"] = "B04"
            bad_graph = write_graph(bad, os.path.join(tmp, "bad.json"))
            p = run(cubist, bad_graph, os.path.join(tmp, "bad.zarr"), url, expect_ok=False)
            if p.returncode == 0 or "node 'ndvi'" not in p.stderr or "argument 'red'" not in p.stderr:
                fail(f"bad graph: exit {p.returncode}, stderr {p.stderr.strip()!r}")
            if len(p.stderr.strip().splitlines()) != 1:
                fail(f"bad graph: error is not one line: {p.stderr!r}")
            leftovers = [n for n in os.listdir(tmp) if n.startswith(".bad") or n == "bad.zarr"]
            if leftovers:
                fail(f"bad graph left output behind: {leftovers}")
        print(f"OK: cubist run == cubist demo ({dict(r.sizes)}), mask_polygon consistent, failures leave nothing")


if __name__ == "__main__":
    main()
