"""The practical limit of the NDVI pipeline: GDAL alone decoding just the windows it needs.

usage: ndvi_gdal_decode.py DATA_DIR CATCHMENT THREADS
For every item the seed search returns, and for red and nir, reads (as uint16, no scaling) the
pixels of the catchment's bounding box in the item's grid, in 1024 x 1024 pieces aligned on the
COG's internal tiles, on THREADS threads (each with its own dataset handles; GDAL releases the GIL
while decoding). Local files: no HTTP. Prints one line:
gdal_decode seconds=<s> bytes_read=<rchar delta> pixels=<decoded> windows=<reads>
"""
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from osgeo import gdal, ogr, osr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "ndvi"))
import ndvi_reference as ref  # noqa: E402

gdal.UseExceptions()
PIECE = 1024


def rchar():
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def catchment_bounds_utm(catchment):
    src = osr.SpatialReference()
    src.ImportFromEPSG(4326)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(ref.EPSG)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    env = None
    for g in ref.catchment_geometries(catchment):
        geom = ogr.CreateGeometryFromJson(json.dumps(g))
        geom.AssignSpatialReference(src)
        geom.TransformTo(dst)
        e = geom.GetEnvelope()  # minx maxx miny maxy
        env = e if env is None else (min(env[0], e[0]), max(env[1], e[1]), min(env[2], e[2]), max(env[3], e[3]))
    return env


def windows(data_dir, items, env):
    out = []
    for it in items:
        for asset in ("red", "nir"):
            a = it["assets"][asset]
            rows, cols = a["proj:shape"]
            res, _, x0, _, neg_res, y0 = a["proj:transform"][:6]
            c0 = max(0, int((env[0] - x0) // res))
            c1 = min(cols, int(-((x0 - env[1]) // res)))
            r0 = max(0, int((y0 - env[3]) // -neg_res))
            r1 = min(rows, int(-((env[2] - y0) // -neg_res)))
            path = os.path.join(data_dir, a["href"])
            # pieces aligned on the internal tiles
            for rb in range(r0 // PIECE * PIECE, r1, PIECE):
                for cb in range(c0 // PIECE * PIECE, c1, PIECE):
                    xa, ya = max(cb, c0), max(rb, r0)
                    xb, yb = min(cb + PIECE, c1), min(rb + PIECE, r1)
                    if xb > xa and yb > ya:
                        out.append((path, xa, ya, xb - xa, yb - ya))
    return out


def main():
    data_dir, catchment, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    items = ref.search_manifest(data_dir, catchment)
    work = windows(data_dir, items, catchment_bounds_utm(catchment))
    local = threading.local()

    def read(w):
        path, x, y, nx, ny = w
        cache = getattr(local, "ds", None)
        if cache is None:
            cache = local.ds = {}
        ds = cache.get(path)
        if ds is None:
            ds = cache[path] = gdal.Open(path)
        ds.GetRasterBand(1).ReadRaster(x, y, nx, ny, buf_type=gdal.GDT_UInt16)
        return nx * ny

    gdal.SetCacheMax(256 * 1024 * 1024)
    r0, t0 = rchar(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        pixels = sum(pool.map(read, work))
    seconds = time.perf_counter() - t0
    print(f"gdal_decode seconds={seconds:.4f} bytes_read={rchar() - r0} pixels={pixels} windows={len(work)}", flush=True)


if __name__ == "__main__":
    main()
