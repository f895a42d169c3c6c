"""Integration check: save_result as netCDF, read by xarray (netCDF4) and rioxarray.

usage: check_openeo_netcdf.py CUBIST WORKDIR CATCHMENT SOURCE_DIR

WORKDIR holds `cubist demo --size small`'s cached data and its ndvi.zarr (the C++ API's result).
With the demo's STAC API served again (`cubist demo --serve`):
- the seed graph (filter_spatial variant, as check_openeo_seed.py) saved as netCDF must open
  with xr.open_dataset into the C++ result: same dims, values and NaNs, time decoded to the same
  datetime64 labels, same x/y, and the same CRS through rioxarray;
- the loaded (time, band, y, x) cube (the items of the first two days with data, full extent)
  saved as netCDF must equal the same graph saved as Zarr,
  with the band labels as strings and the eo:bands coordinates (common_name, center_wavelength);
- ndvi with target_band appends an NDVI band equal to xarray's (nir - red) / (nir + red).
Run with Debian's /usr/bin/python3.
"""
import json
import os
import sys
import tempfile

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from openeo_fixture import demo_stac_api, fail, on_reference_days, run_graph, seed_graph, with_filter_spatial, write_graph


def run(cubist, doc, tmp, name, output, url):
    run_graph(cubist, write_graph(doc, os.path.join(tmp, name)), output, url)


def same(a, b, what):
    if a.dims != b.dims or a.shape != b.shape:
        fail(f"{what}: {a.dims} {a.shape} vs {b.dims} {b.shape}")
    for c in a.dims:
        if not np.array_equal(a[c].values, b[c].values):
            fail(f"{what}: coordinate {c} differs: {a[c].values[:3]} vs {b[c].values[:3]}")
    if not np.array_equal(a.values, b.values, equal_nan=True):
        fail(f"{what}: values differ (max abs diff {np.nanmax(np.abs(a.values - b.values))})")


def main():
    cubist, workdir, catchment, source = sys.argv[1:5]
    reference = xr.open_zarr(os.path.join(workdir, "ndvi.zarr"))
    doc = seed_graph(source, catchment)
    with demo_stac_api(cubist, workdir, catchment) as url:
        with tempfile.TemporaryDirectory() as tmp:
            crop = with_filter_spatial(doc)
            crop["process_graph"]["save"]["arguments"]["format"] = "netCDF"
            nc = os.path.join(tmp, "ndvi.nc")
            run(cubist, crop, tmp, "crop_nc.json", nc, url)
            with xr.open_dataset(nc) as ds:
                a, r = ds["data"].load(), reference["data"]
                a = on_reference_days(a, r, "seed graph as netCDF")
                if a.time.dtype.kind != "M":
                    fail(f"netCDF time decodes to {a.time.dtype}, not datetime64")
                same(a, r, "seed graph as netCDF vs the C++ result")
                if a.dtype != r.dtype:
                    fail(f"netCDF dtype {a.dtype} vs {r.dtype}")
                crs, ref_crs = a.rio.crs, r.rio.crs
                if crs is None or crs != ref_crs:
                    fail(f"netCDF CRS {crs} vs the C++ result's {ref_crs}")
                if a.rio.transform() != r.rio.transform():
                    fail(f"netCDF transform {a.rio.transform()} vs {r.rio.transform()}")
                shape = dict(a.sizes)

            # The loaded cube itself: 4-d, band labels as strings.
            raw = json.loads(json.dumps(doc))
            pg = raw["process_graph"]
            pg["save"]["arguments"]["data"] = {"from_node": "load"}
            for node in ("ndvi", "mask", "daily"):
                del pg[node]
            # The items of the first two days with data are enough to prove the encoding (several
            # time steps, two chunks along y); all 24 would write and read back ~1.7 GB.
            days = reference["time"].values
            pg["load"]["arguments"]["temporal_extent"] = [str(days[0])[:10], str(days[2])[:10]]
            zarr = os.path.join(tmp, "raw.zarr")
            run(cubist, raw, tmp, "raw_zarr.json", zarr, url)
            pg["save"]["arguments"]["format"] = "netCDF"
            raw_nc = os.path.join(tmp, "raw.nc")
            run(cubist, raw, tmp, "raw_nc.json", raw_nc, url)
            with xr.open_dataset(raw_nc) as ds:
                a = ds["data"].load()
                z = xr.open_zarr(zarr)["data"].load()
                if list(a.band.values) != ["red", "nir"] or list(z.band.values) != ["red", "nir"]:
                    fail(f"band labels: netCDF {list(a.band.values)}, Zarr {list(z.band.values)}")
                same(a, z.astype(a.dtype), "loaded cube as netCDF vs as Zarr")
                # load_stac keeps the items' eo:bands metadata as band coordinates (as stackstac).
                for c in ("common_name", "center_wavelength"):
                    if c not in a.coords or c not in z.coords or list(a[c].values) != list(z[c].values):
                        fail(f"band coordinate {c} missing or different in netCDF / Zarr")
                if list(a.common_name.values) != ["red", "nir"]:
                    fail(f"common_name {list(a.common_name.values)}")
                if a.rio.crs != z.rio.crs:
                    fail(f"loaded cube CRS {a.rio.crs} vs {z.rio.crs}")
                raw_shape = dict(a.sizes)
                # The chunks cubist compressed itself (openeo/hdf5_chunks.cpp) decode through
                # netCDF4's own filter pipeline: shuffle + zlib, chunked as the cube.
                enc = ds["data"].encoding
                if not (enc.get("zlib") and enc.get("shuffle") and enc.get("chunksizes")):
                    fail(f"netCDF encoding of data: {enc}")
                if raw_shape["time"] < 2 or raw_shape["y"] <= 1024:
                    fail(f"loaded cube {raw_shape}: expected several time steps and two chunks along y")
            # ndvi with target_band: the NDVI appended as a third band, equal to xarray's own
            # (nir - red) / (nir + red) on the two loaded bands of the same file.
            pg["ndvi"] = {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}, "target_band": "ndvi"}}
            pg["save"]["arguments"]["data"] = {"from_node": "ndvi"}
            ndvi_nc = os.path.join(tmp, "with_ndvi.nc")
            run(cubist, raw, tmp, "ndvi_band_nc.json", ndvi_nc, url)
            with xr.open_dataset(ndvi_nc) as ds:
                a = ds["data"].load()
                if list(a.band.values) != ["red", "nir", "ndvi"] or a.dims != ("time", "band", "y", "x"):
                    fail(f"ndvi target_band: bands {list(a.band.values)}, dims {a.dims}")
                red, nir = a.sel(band="red"), a.sel(band="nir")
                want = ((nir - red) / (nir + red)).values
                got = a.sel(band="ndvi").values
                if not np.allclose(got, want, equal_nan=True, rtol=1e-6, atol=0):
                    fail(f"ndvi target_band: NDVI band differs (max abs diff {np.nanmax(np.abs(got - want))})")
                if not np.isfinite(got).any():
                    fail("ndvi target_band: the NDVI band is all NaN")
            leftovers = [n for n in os.listdir(tmp) if n.startswith(".")]
            if leftovers:
                fail(f"temporary files left behind: {leftovers}")
        print(f"OK: netCDF seed result == cubist demo ({shape}), loaded cube {raw_shape} == Zarr, ndvi target_band, CRS via rioxarray")


if __name__ == "__main__":
    main()
