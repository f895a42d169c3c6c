"""The seed workflow's NDVI composite done by the Python stack (xarray + rioxarray + dask).

stackstac and pystac-client are not packaged in Debian, so the cube is built the way one would
without them: the items come from the generator's manifest (filtered as the STAC search filters
them: collection, datetime range, proj:epsg, intersects the catchment), each COG is opened with
rioxarray.open_rasterio(mask_and_scale=True) and the items are concatenated along time with their
datetimes (outer join = the union of the tiles, as stackstac's default bounds). Then the same steps
as the notebook: NDVI, rio.write_crs, rio.clip(catchment, crs=4326), groupby(time floored to the
day).max(skipna=True) (the floored times renamed "time": this xarray would call the dimension
"floor"), chunk("auto"), to a Dataset named `data`, to_zarr(mode="w").

Used by check_ndvi.py (the integration test) and bench/ndvi_pipeline.py (the benchmark).
Run with Debian's /usr/bin/python3.
"""
import json
import os

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from osgeo import ogr

DATETIME = ("2019-02-01T00:00:00Z", "2019-03-28T23:59:59.999999Z")
EPSG = 32632
CHUNK = 1024


def catchment_geometries(path):
    with open(path) as f:
        doc = json.load(f)
    feats = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    return [f["geometry"] if f.get("type") == "Feature" else f for f in feats]


def search_manifest(data_dir, catchment_path, epsg=EPSG, datetime=DATETIME):
    """The items the seed's STAC search returns, from the generator's manifest, oldest first."""
    with open(os.path.join(data_dir, "synthetic_s2.json")) as f:
        features = json.load(f)["items"]["features"]
    area = None
    for g in catchment_geometries(catchment_path):
        geom = ogr.CreateGeometryFromJson(json.dumps(g))
        area = geom if area is None else area.Union(geom)
    lo, hi = (pd.Timestamp(t) for t in datetime)
    found = []
    for item in features:
        props = item["properties"]
        t = pd.Timestamp(props["datetime"])
        if item.get("collection") != "sentinel-2-l2a" or props.get("proj:epsg") != epsg:
            continue
        if not (lo <= t <= hi):
            continue
        if not area.Intersects(ogr.CreateGeometryFromJson(json.dumps(item["geometry"]))):
            continue
        found.append(item)
    found.sort(key=lambda it: (pd.Timestamp(it["properties"]["datetime"]), it["id"]))
    return found


def open_band(data_dir, item, asset, chunks):
    path = os.path.join(data_dir, item["assets"][asset]["href"])
    da = rioxarray.open_rasterio(path, mask_and_scale=True, chunks=chunks, lock=False)
    # float64 as stackstac computes (rioxarray decodes uint16 with a scale factor to float32).
    return da.squeeze("band", drop=True).astype("float64")


def ndvi_composite(data_dir, catchment_path, chunked=True):
    """The daily max NDVI composite (lazy when chunked) and the items used."""
    items = search_manifest(data_dir, catchment_path)
    chunks = {"x": CHUNK, "y": CHUNK} if chunked else None
    times = pd.DatetimeIndex([pd.Timestamp(it["properties"]["datetime"]).tz_convert(None) for it in items], name="time")
    red = xr.concat([open_band(data_dir, it, "red", chunks) for it in items], dim=times, join="outer")
    nir = xr.concat([open_band(data_dir, it, "nir", chunks) for it in items], dim=times, join="outer")
    # The outer join sorts y ascending; stackstac's grid (and a north-up raster) runs north to south.
    red, nir = red.sortby("y", ascending=False), nir.sortby("y", ascending=False)
    ndvi = (nir - red) / (nir + red)
    ndvi = ndvi.rio.write_crs(f"EPSG:{EPSG}")
    ndvi = ndvi.rio.write_nodata(np.nan)
    clipped = ndvi.rio.clip(catchment_geometries(catchment_path), crs=4326)
    daily = clipped.groupby(clipped.time.dt.floor("D").rename("time")).max(skipna=True)
    return daily, items


def write_like_the_notebook(daily, out):
    """chunk("auto") -> Dataset `data` -> drop object coords / unserialisable attrs -> to_zarr."""
    if daily.chunks is not None:
        daily = daily.chunk("auto")
    ds = daily.to_dataset(name="data")
    ds = ds.drop_vars([c for c in ds.coords if ds[c].dtype == object])
    for k, v in list(ds["data"].attrs.items()):
        if not isinstance(v, (str, int, float, list, tuple, np.ndarray, np.number)):
            del ds["data"].attrs[k]
    ds.to_zarr(out, mode="w")
