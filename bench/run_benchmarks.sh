#!/usr/bin/env bash
# Runs cubist's benchmarks against the Python stack (numpy/dask, Debian's /usr/bin/python3) in the
# same run. Usage: bench/run_benchmarks.sh BUILD_DIR [name ...]   (names: overhead mean_time zarr_io ndvi)
# Prints one line per figure and ends each benchmark with
#   RESULT name=<id> cubist=<value><unit> reference=<value><unit> ratio=<reference/cubist>
# Knobs (environment): CUBIST_BENCH_PYTHON (default /usr/bin/python3),
#   CUBIST_BENCH_MEAN_TIME_T (time steps of the mean_time cube, default 64 -> 4 GiB),
#   CUBIST_BENCH_ZARR_GB (size of the zarr_io cube, default 1), CUBIST_BENCH_ZARR_DIR (where zarr_io
#   writes its stores, default /dev/shm when present, else /tmp),
#   CUBIST_BENCH_NDVI_SIZE (demo data of the ndvi benchmark: small|medium|full, default medium),
#   CUBIST_BENCH_NDVI_WORKDIR (where that data is generated once and cached, default BUILD/bench/ndvi-work).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: run_benchmarks.sh BUILD_DIR [name ...]}
shift
BUILD=$(cd "$BUILD" && pwd)
PY=${CUBIST_BENCH_PYTHON:-/usr/bin/python3}
ALL=(overhead mean_time zarr_io ndvi)
NAMES=()
for n in "$@"; do [ "$n" = zarr ] && NAMES+=(zarr_io) || NAMES+=("$n"); done  # "zarr" is short for zarr_io
[ ${#NAMES[@]} -eq 0 ] && NAMES=("${ALL[@]}")

for n in "${NAMES[@]}"; do
  case " ${ALL[*]} " in *" $n "*) ;; *) echo "run_benchmarks: unknown benchmark '$n' (have: ${ALL[*]})" >&2; exit 2 ;; esac
done
if ! "$PY" -c 'import numpy, dask.array' 2>/dev/null; then
  echo "run_benchmarks: $PY cannot import numpy and dask (install python3-numpy python3-dask)" >&2
  exit 2
fi
cmake --build "$BUILD" --target bench_all >/dev/null

status=0
for n in "${NAMES[@]}"; do
  exe="$BUILD/bench/bench_$n"
  echo "== $n"
  start=$(date +%s)
  case "$n" in
    overhead)
      "$exe" --sizes 100000,1000000 --python "$PY" --reference "$BENCH_DIR/reference_overhead.py" --dask-limit 180 || status=1 ;;
    mean_time)
      "$exe" --time "${CUBIST_BENCH_MEAN_TIME_T:-64}" --y 4096 --x 4096 --chunk 1024 --repeats 3 \
        --python "$PY" --reference "$BENCH_DIR/reference_mean_time.py" || status=1 ;;
    zarr_io)
      zdir=${CUBIST_BENCH_ZARR_DIR:-}
      [ -z "$zdir" ] && { [ -d /dev/shm ] && [ -w /dev/shm ] && zdir=/dev/shm || zdir=${TMPDIR:-/tmp}; }
      "$exe" --gb "${CUBIST_BENCH_ZARR_GB:-1}" --repeats 3 --dir "$zdir" \
        --python "$PY" --reference "$BENCH_DIR/reference_zarr_io.py" || status=1 ;;
    ndvi)
      "$PY" "$BENCH_DIR/ndvi_pipeline.py" --cubist "$BUILD/src/cubist" --size "${CUBIST_BENCH_NDVI_SIZE:-medium}" \
        --workdir "${CUBIST_BENCH_NDVI_WORKDIR:-$BUILD/bench/ndvi-work}" --threads 2 --repeats 3 || status=1 ;;
  esac
  echo "($n took $(( $(date +%s) - start ))s)"
done
exit $status
