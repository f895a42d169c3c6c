"""What the openEO integration checks share: the seed example graph, the demo's STAC API served
again by `cubist demo --serve`, and `cubist run` of a graph against it."""
import contextlib
import json
import os
import re
import subprocess
import sys


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def seed_graph(source, catchment):
    """examples/openeo/seed_ndvi_daily_max.json with its catchment parameter set."""
    with open(os.path.join(source, "examples", "openeo", "seed_ndvi_daily_max.json")) as f:
        doc = json.load(f)
    doc["parameters"][1]["default"] = catchment
    return doc


def with_filter_spatial(doc):
    """The seed graph with filter_spatial in place of mask_polygon: crop and mask, as the C++ clip."""
    crop = json.loads(json.dumps(doc))
    crop["process_graph"]["mask"] = {"process_id": "filter_spatial", "arguments": {
        "data": {"from_node": "ndvi"}, "geometries": {"from_parameter": "catchment"}}}
    return crop


def write_graph(doc, path):
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


@contextlib.contextmanager
def demo_stac_api(cubist, workdir, catchment):
    """Serves the demo's cached small data as a STAC API; yields its base URL."""
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
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_graph(cubist, graph, output, url, expect_ok=True):
    p = subprocess.run([cubist, "run", graph, "--output", output, "--workers", "2",
                        "--param", f"stac_collection_url={url}/collections/sentinel-2-l2a"],
                       capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        fail(f"cubist run {graph}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def on_reference_days(ours, reference, what):
    """openEO's aggregate_temporal_period returns every day of the graph's temporal extent; the
    C++ pipeline (xarray's groupby) only the days holding data. Checks the days between the
    extent's and the data's are all NaN and returns `ours` on the reference's days."""
    import numpy as np
    missing = set(reference["time"].values) - set(ours["time"].values)
    if missing:
        fail(f"{what}: days of the C++ result missing: {sorted(missing)[:3]}")
    extra = ours.sel(time=~ours["time"].isin(reference["time"].values))
    if np.isfinite(extra.values).any():
        fail(f"{what}: data on a day without items")
    days = ours["time"].values
    if len(days) > 1 and not (np.diff(days) == np.timedelta64(1, "D")).all():
        fail(f"{what}: the days are not every day of the extent")
    return ours.sel(time=reference["time"].values)
