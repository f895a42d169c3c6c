"""xarray oracle, Python half: rebuilds every case written by oracle_cases with xarray (numpy-backed)
on the same inputs and compares it with cubist's result.

Checked per case: dtype, dims and shape identical; coordinates (names, dims, values) identical;
values equal within a tolerance (float64: rtol 1e-6, float32: rtol 1e-5, both relative to the
element and to the largest magnitude in the result, since accumulation order differs), exact for
ints, bools and datetimes, with identical NaN (and +-inf) positions. Cases flagged check_chunks also
compare cubist's chunk grid with dask's for the same chunk() call on dask-backed inputs chunked
as cubist's (exact for explicit chunks; a note only for "auto").

xarray runs with use_bottleneck=False (see below).

Usage: /usr/bin/python3 check_against_xarray.py ORACLE_DIR   (exit 1 when any case mismatches)
"""
import json
import os
import sys
import warnings

import numpy as np

try:
    import dask
    import xarray as xr
except ImportError as e:  # pragma: no cover
    sys.exit(f"check_against_xarray: needs xarray and dask ({e}); run with Debian's /usr/bin/python3 "
             "(apt-get install python3-xarray python3-dask)")

warnings.filterwarnings("ignore")
np.seterr(all="ignore")
# With bottleneck installed, xarray's skipna reductions over all dims return Python floats, so
# float32.min() etc. come back float64; without it they follow numpy (float32). cubist follows
# numpy, so the oracle runs xarray without bottleneck.
xr.set_options(use_bottleneck=False)

RTOL = {np.dtype("float32"): 1e-5, np.dtype("float64"): 1e-6}


def load_coords(d, entries):
    coords = {}
    for name, e in entries.items():
        values = np.array(e["strings"]) if "strings" in e else np.load(os.path.join(d, e["file"]))
        coords[name] = (tuple(e["dims"]), values)
    return coords


def with_chunk_size(nbytes, fn):
    with dask.config.set({"array.chunk-size": nbytes}):
        return fn()


def floor_time(times, freq):
    """cubist's floor_time on a datetime coordinate: pandas' dt.floor for fixed frequencies, month
    and year starts through numpy's datetime64[M]/[Y]; the result keeps the coordinate's name (as
    newer xarray's dt accessor does), so the grouped dimension stays 'time'."""
    if freq in ("MS", "YS"):
        values = times.values.astype("datetime64[M]" if freq == "MS" else "datetime64[Y]").astype("datetime64[ns]")
    else:
        values = times.dt.floor(freq).values
    return xr.DataArray(values, dims=times.dims, name=times.name)


def positions(mask, limit=5):
    idx = np.argwhere(mask)
    return ", ".join(str(tuple(int(i) for i in p)) for p in idx[:limit]) + (" ..." if len(idx) > limit else "")


def compare_values(act, exp):
    """None when equal (within tolerance), else a description of the first differences."""
    if exp.dtype.kind == "M":
        act, exp = act.view("i8"), exp.astype("datetime64[ns]").view("i8")
    if exp.dtype.kind == "f":
        a, e = act.astype(np.float64), exp.astype(np.float64)
        for what, fa, fe in (("NaN", np.isnan(a), np.isnan(e)),
                             ("+inf", np.isposinf(a), np.isposinf(e)),
                             ("-inf", np.isneginf(a), np.isneginf(e))):
            if not np.array_equal(fa, fe):
                diff = fa != fe
                return (f"{what} positions differ at {positions(diff)} "
                        f"(cubist {a[diff][:5].tolist()}, xarray {e[diff][:5].tolist()})")
        fin = np.isfinite(e)
        if not fin.any():
            return None
        rtol = RTOL.get(exp.dtype, 1e-6)
        scale = max(1.0, float(np.max(np.abs(e[fin]))))
        bad = np.zeros(e.shape, dtype=bool)
        bad[fin] = np.abs(a[fin] - e[fin]) > rtol * (np.abs(e[fin]) + scale)
        if bad.any():
            err = float(np.max(np.abs(a[fin] - e[fin])))
            return (f"values differ beyond rtol {rtol} at {positions(bad)}: cubist {a[bad][:5].tolist()} vs "
                    f"xarray {e[bad][:5].tolist()} (max abs error {err:.3g})")
        return None
    if not np.array_equal(act, exp):
        diff = act != exp
        return f"values differ at {positions(diff)}: cubist {act[diff][:5].tolist()} vs xarray {exp[diff][:5].tolist()}"
    return None


def compare_coords(d, case, exp):
    problems = []
    act_names = set(case.get("coords", {}))
    exp_names = set(exp.coords)
    if act_names != exp_names:
        problems.append(f"coordinates differ: cubist {sorted(act_names)} vs xarray {sorted(exp_names)}")
    for name in sorted(act_names & exp_names):
        e = case["coords"][name]
        ec = exp.coords[name]
        if tuple(e["dims"]) != ec.dims:
            problems.append(f"coordinate '{name}' dims {tuple(e['dims'])} vs xarray {ec.dims}")
            continue
        if "strings" in e:
            if [str(v) for v in np.ravel(ec.values)] != list(e["strings"]):
                problems.append(f"coordinate '{name}' labels differ")
            continue
        av = np.load(os.path.join(d, e["file"]))
        if av.shape != ec.shape:
            problems.append(f"coordinate '{name}' shape {av.shape} vs xarray {ec.shape}")
            continue
        if ec.dtype.kind != "M" and av.dtype != ec.dtype:
            problems.append(f"coordinate '{name}' dtype {av.dtype} vs xarray {ec.dtype}")
        why = compare_values(av, ec.values)
        if why:
            problems.append(f"coordinate '{name}': {why}")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_against_xarray.py ORACLE_DIR")
    d = sys.argv[1]
    path = os.path.join(d, "manifest.json")
    if not os.path.exists(path):
        sys.exit(f"check_against_xarray: {path} is missing (run oracle_cases first)")
    with open(path) as f:
        manifest = json.load(f)

    ns = {"xr": xr, "np": np, "with_chunk_size": with_chunk_size, "floor_time": floor_time}
    for name, e in manifest["inputs"].items():
        values = np.load(os.path.join(d, e["file"]))
        if str(values.dtype) != e["dtype"].replace("datetime64[ns]", "datetime64[ns]"):
            sys.exit(f"check_against_xarray: input {name} has dtype {values.dtype}, manifest says {e['dtype']}")
        ns[name] = xr.DataArray(values, dims=tuple(e["dims"]), coords=load_coords(d, e["coords"]),
                                name=e["name"] or None, attrs=e["attrs"])
    dask_ns = dict(ns)
    for name, v in manifest["variants"].items():
        base = ns[v["base"]]
        ns[name] = base  # same values; chunking must not change results
        dask_ns[name] = base.chunk({dim: tuple(c) for dim, c in zip(base.dims, v["chunks"])})

    failures, notes, passed = [], [], 0
    for case in manifest["cases"]:
        label = f"{case['name']} [{case['py']}]"
        try:
            exp = eval(case["py"], dict(ns))  # noqa: S307 (our own manifest)
        except Exception as e:  # xarray refuses the computation
            if "error" in case:
                notes.append(f"{label}: cubist and xarray both refuse it (cubist: {case['error']}; xarray: {e})")
                passed += 1
            else:
                failures.append(f"{label}: xarray raised {type(e).__name__}: {e}, but cubist computed a result")
            continue
        if "error" in case:
            failures.append(f"{label}: cubist raised: {case['error']}")
            continue
        problems = []
        if "lazy_mismatch" in case:
            problems.append(case["lazy_mismatch"])
        act = np.load(os.path.join(d, case["file"]))
        exp = exp.compute()
        if tuple(case["dims"]) != exp.dims:
            problems.append(f"dims {tuple(case['dims'])} vs xarray {exp.dims}")
        if act.dtype != exp.dtype:
            problems.append(f"dtype {act.dtype} vs xarray {exp.dtype}")
        if act.shape != exp.shape:
            problems.append(f"shape {act.shape} vs xarray {exp.shape}")
        elif act.dtype.kind == exp.dtype.kind or {act.dtype.kind, exp.dtype.kind} <= set("iuf"):
            why = compare_values(act, exp.values)
            if why:
                problems.append(why)
        problems += compare_coords(d, case, exp)
        if case.get("check_chunks"):
            try:
                lazy = eval(case["py"], dict(dask_ns))  # noqa: S307
                exp_chunks = tuple(tuple(int(x) for x in c) for c in (lazy.chunks or ()))
                act_chunks = tuple(tuple(c) for c in case["lazy_chunks"])
                if exp_chunks != act_chunks:
                    msg = f"chunks {act_chunks} vs dask {exp_chunks}"
                    if "auto" in case["py"]:
                        notes.append(f"{label}: {msg} (auto chunking may differ from dask's)")
                    else:
                        problems.append(msg)
            except Exception as e:
                notes.append(f"{label}: could not compute dask's chunks: {e}")
        if problems:
            failures.append(f"{label}: " + "; ".join(problems))
        else:
            passed += 1

    for s in manifest["skipped"]:
        notes.append(f"{s['name']} [{s['py']}]: skipped, cubist says: {s['reason']}")
    for n in notes:
        print(f"NOTE {n}")
    for f in failures:
        print(f"MISMATCH {f}")
    print(f"xarray oracle: {passed} passed, {len(failures)} failed, {len(manifest['skipped'])} skipped "
          f"(xarray {xr.__version__}, numpy {np.__version__})")
    if not manifest["cases"]:
        sys.exit("check_against_xarray: no cases were written")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
