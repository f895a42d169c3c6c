"""Integration check: `cubist run` of the seed pipeline as an openEO graph equals `cubist demo`.

usage: check_openeo_seed.py CUBIST WORKDIR CATCHMENT SOURCE_DIR

WORKDIR holds `cubist demo --size small`'s cached data and its ndvi.zarr (the C++ API's result).
The demo's STAC API is served again (`cubist demo --serve`); then
- examples/openeo/seed_ndvi_daily_max.json with filter_spatial in place of mask_polygon (crop and
  mask, what the C++ pipeline's clip does) must give the same store: identical values and NaNs,
  coordinates, attributes and chunks;
- the example itself (mask_polygon keeps the loaded extent) must hold the same values on the C++
  result's grid and only NaN elsewhere;
- a graph failing at run time leaves no output.
Run with Debian's /usr/bin/python3.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import xarray as xr


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cubist, graph, output, url, expect_ok=True):
    p = subprocess.run([cubist, "run", graph, "--output", output, "--workers", "2",
                        "--param", f"stac_collection_url={url}/collections/sentinel-2-l2a"],
                       capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        fail(f"cubist run {graph}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def main():
    cubist, workdir, catchment, source = sys.argv[1:5]
    reference = xr.open_zarr(os.path.join(workdir, "ndvi.zarr"))
    example = os.path.join(source, "examples", "openeo", "seed_ndvi_daily_max.json")
    with open(example) as f:
        doc = json.load(f)
    doc["parameters"][1]["default"] = catchment
    server = subprocess.Popen([cubist, "demo", "--serve", "--size", "small", "--workdir", workdir,
                               "--catchment", catchment, "--no-progress"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        for line in server.stdout:
            m = re.search(r"STAC API\s+(http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        if not url:
            fail("cubist demo --serve printed no STAC API URL")
        with tempfile.TemporaryDirectory() as tmp:
            masked_graph = os.path.join(tmp, "seed_mask_polygon.json")
            with open(masked_graph, "w") as f:
                json.dump(doc, f)
            crop = json.loads(json.dumps(doc))
            crop["process_graph"]["mask"] = {"process_id": "filter_spatial", "arguments": {
                "data": {"from_node": "ndvi"}, "geometries": {"from_parameter": "catchment"}}}
            crop_graph = os.path.join(tmp, "seed_filter_spatial.json")
            with open(crop_graph, "w") as f:
                json.dump(crop, f)

            run(cubist, crop_graph, os.path.join(tmp, "crop.zarr"), url)
            ours = xr.open_zarr(os.path.join(tmp, "crop.zarr"))
            a, r = ours["data"], reference["data"]
            if a.dims != r.dims or a.shape != r.shape:
                fail(f"filter_spatial graph: {a.dims} {a.shape} vs the C++ result's {r.dims} {r.shape}")
            for c in ("time", "y", "x"):
                if not np.array_equal(a[c].values, r[c].values):
                    fail(f"filter_spatial graph: coordinate {c} differs")
            if not np.array_equal(a.values, r.values, equal_nan=True):
                fail(f"filter_spatial graph: values differ (max abs diff {np.nanmax(np.abs(a.values - r.values))})")
            if a.attrs != r.attrs or a.encoding.get("chunks") != r.encoding.get("chunks"):
                fail(f"filter_spatial graph: attrs/chunks differ: {a.attrs} {a.encoding.get('chunks')} vs "
                     f"{r.attrs} {r.encoding.get('chunks')}")
            if sorted(ours.variables) != sorted(reference.variables):
                fail(f"filter_spatial graph: variables {sorted(ours.variables)} vs {sorted(reference.variables)}")

            run(cubist, masked_graph, os.path.join(tmp, "masked.zarr"), url)
            m = xr.open_zarr(os.path.join(tmp, "masked.zarr"))["data"]
            if not np.array_equal(m.sel(x=r.x, y=r.y).values, r.values, equal_nan=True):
                fail("mask_polygon graph: values on the C++ result's grid differ")
            outside = m.where(~(m.x.isin(r.x.values) & m.y.isin(r.y.values)))
            if np.isfinite(outside.values).any():
                fail("mask_polygon graph: data outside the catchment's window")

            bad = json.loads(json.dumps(doc))
            bad["process_graph"]["ndvi"]["arguments"]["red"] = "B04"
            bad_graph = os.path.join(tmp, "bad.json")
            with open(bad_graph, "w") as f:
                json.dump(bad, f)
            p = run(cubist, bad_graph, os.path.join(tmp, "bad.zarr"), url, expect_ok=False)
            if p.returncode == 0 or "node 'ndvi'" not in p.stderr or "argument 'red'" not in p.stderr:
                fail(f"bad graph: exit {p.returncode}, stderr {p.stderr.strip()!r}")
            if len(p.stderr.strip().splitlines()) != 1:
                fail(f"bad graph: error is not one line: {p.stderr!r}")
            leftovers = [n for n in os.listdir(tmp) if n.startswith(".bad") or n == "bad.zarr"]
            if leftovers:
                fail(f"bad graph left output behind: {leftovers}")
        print(f"OK: cubist run == cubist demo ({dict(r.sizes)}), mask_polygon consistent, failures leave nothing")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
