"""Benchmark: the seed NDVI workflow, cubist vs the Python stack vs GDAL's decode limit, in one run.

usage: ndvi_pipeline.py --cubist BUILD/src/cubist --workdir DIR [--size medium] [--threads 2] [--repeats 3]

On the same generated Sentinel-2-like data (`cubist demo --size SIZE`, generated once and cached)
and the same number of threads, each repetition runs, as separate processes under /usr/bin/time -v:
  cubist   `cubist demo` (its own STAC API on 127.0.0.1, search, stack over HTTP range requests,
           NDVI, clip, daily max, rechunk, to_zarr): whole-process wall time and peak RSS, plus
           the HTTP requests and bytes its server sent;
  python   xarray + rioxarray + dask (threads scheduler) doing the same steps on the local files
           (bench/ndvi_python_stack.py): whole-process wall time, peak RSS, bytes read (rchar);
  gdal     GDAL alone decoding the windows the pipeline needs, on the same threads
           (bench/ndvi_gdal_decode.py): the practical limit.
Medians of the repetitions, then RESULT lines (run_benchmarks.sh's format). Measures only; asserts nothing.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall seconds, peak RSS bytes, CPU seconds)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"ndvi_pipeline: failed ({p.returncode}): {' '.join(cmd)}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", p.stderr))
    seconds = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))) if wall else float("nan")
    return p.stdout, seconds, int(rss.group(1)) * 1024 if rss else 0, cpu


def kv(stdout, tag):
    for line in stdout.splitlines():
        if line.startswith(tag + " "):
            return dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
    raise SystemExit(f"ndvi_pipeline: no '{tag}' line in:\n{stdout}")


def mib(b):
    return f"{b / 2**20:.1f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cubist", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--size", default="medium")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--catchment", default=os.path.join(ROOT, "data", "catchment_outline.geojson"))
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    data_dir = os.path.join(a.workdir, f"data-{a.size}")
    demo = [a.cubist, "demo", "--size", a.size, "--workdir", a.workdir, "--catchment", a.catchment,
            "--workers", str(a.threads), "--no-progress"]

    print(f"preparing {a.size} data in {data_dir} (generated once, then reused)", flush=True)
    out, secs, _, _ = timed(demo + ["--output", os.path.join(a.workdir, "warmup.zarr")])
    print("  " + next(l for l in out.splitlines() if l.startswith("data")), flush=True)

    # What reading every overlapping tile whole would cost, to put the bytes read in proportion.
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "ndvi"))
    import ndvi_reference as ref
    whole = sum(os.path.getsize(os.path.join(data_dir, it["assets"][k]["href"]))
                for it in ref.search_manifest(data_dir, a.catchment) for k in ("red", "nir"))
    print(f"  the found items' red and nir COGs, whole: {mib(whole)}", flush=True)

    runs = {"cubist": [], "python": [], "gdal": []}
    for r in range(a.repeats):
        out, secs, rss, cpu = timed(demo + ["--output", os.path.join(a.workdir, "bench-cubist.zarr")])
        res = kv(out, "RESULT")
        runs["cubist"].append(dict(wall=secs, rss=rss, cpu=cpu, inner=float(res["pipeline_seconds"]),
                                   bytes=int(res["bytes_sent"]), requests=int(res["requests"]),
                                   items=int(res["items"])))
        out, secs, rss, cpu = timed([PY, os.path.join(HERE, "ndvi_python_stack.py"), data_dir, a.catchment,
                                os.path.join(a.workdir, "bench-python.zarr"), str(a.threads)])
        res = kv(out, "python_stack")
        runs["python"].append(dict(wall=secs, rss=rss, cpu=cpu, inner=float(res["seconds"]), bytes=int(res["bytes_read"]),
                                   items=int(res["items"])))
        out, secs, rss, cpu = timed([PY, os.path.join(HERE, "ndvi_gdal_decode.py"), data_dir, a.catchment,
                                str(a.threads)])
        res = kv(out, "gdal_decode")
        runs["gdal"].append(dict(wall=secs, rss=rss, cpu=cpu, inner=float(res["seconds"]), bytes=int(res["bytes_read"]),
                                 windows=int(res["windows"])))
        c, p, g = runs["cubist"][-1], runs["python"][-1], runs["gdal"][-1]
        print(f"run {r + 1}: cubist {c['wall']:.2f} s (pipeline {c['inner']:.2f} s, {mib(c['rss'])} peak, "
              f"{c['requests']} HTTP requests, {mib(c['bytes'])}, cpu {c['cpu']:.2f} s) | python {p['wall']:.2f} s "
              f"(compute+write {p['inner']:.2f} s, {mib(p['rss'])} peak, read {mib(p['bytes'])}, cpu {p['cpu']:.2f} s) | "
              f"gdal decode {g['inner']:.2f} s ({g['windows']} windows, read {mib(g['bytes'])}, process cpu {g['cpu']:.2f} s)",
              flush=True)

    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    c, p, g = med["cubist"], med["python"], med["gdal"]
    print(f"medians of {a.repeats} ({a.size}: {int(c['items'])} items, {a.threads} threads):")
    print(f"  cubist whole process {c['wall']:.3f} s, peak RSS {mib(c['rss'])}, {int(c['requests'])} HTTP requests, "
          f"{mib(c['bytes'])} over HTTP, CPU {c['cpu']:.3f} s")
    print(f"  python whole process {p['wall']:.3f} s (steps alone {p['inner']:.3f} s), peak RSS {mib(p['rss'])}, "
          f"read {mib(p['bytes'])}, CPU {p['cpu']:.3f} s")
    print(f"  gdal decode of the needed windows {g['inner']:.3f} s, read {mib(g['bytes'])}")
    print(f"  bytes read / whole COGs: cubist {c['bytes'] / whole:.0%}, python {p['bytes'] / whole:.0%}, "
          f"gdal {g['bytes'] / whole:.0%}")
    print(f"RESULT name=ndvi_pipeline_wall cubist={c['wall']:.3f}s reference={p['wall']:.3f}s "
          f"ratio={p['wall'] / c['wall']:.2f}")
    print(f"RESULT name=ndvi_pipeline_steps cubist={c['inner']:.3f}s reference={p['inner']:.3f}s "
          f"ratio={p['inner'] / c['inner']:.2f}")
    print(f"RESULT name=ndvi_vs_gdal_decode cubist={c['inner']:.3f}s reference={g['inner']:.3f}s "
          f"ratio={g['inner'] / c['inner']:.2f}")
    # CPU seconds (user + system, whole processes): what a loaded machine distorts least.
    print(f"RESULT name=ndvi_pipeline_cpu cubist={c['cpu']:.3f}s reference={p['cpu']:.3f}s "
          f"ratio={p['cpu'] / max(c['cpu'], 1e-9):.2f}")
    print(f"RESULT name=ndvi_peak_rss cubist={c['rss'] / 2**20:.1f}MiB reference={p['rss'] / 2**20:.1f}MiB "
          f"ratio={p['rss'] / max(c['rss'], 1):.2f}")


if __name__ == "__main__":
    main()
