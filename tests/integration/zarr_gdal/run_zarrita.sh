#!/bin/sh
# Installs the npm package zarrita (pinned) into WORK_DIR under the build directory, then reads
# cubist's stores with it (check_zarrita.mjs). Exits 77 (ctest: skipped) with a message when
# node/npm are missing or npm cannot install zarrita (e.g. no access to the npm registry).
# Usage: run_zarrita.sh STORES_DIR WORK_DIR CHECK_SCRIPT STORE...
set -u
stores=$1 work=$2 script=$3
shift 3
version=0.7.5
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIPPED: node/npm not found; cannot verify Zarr v3 with zarrita"
  exit 77
fi
mkdir -p "$work"
if [ "$(node -p "try{require('$work/node_modules/zarrita/package.json').version}catch(e){''}")" != "$version" ]; then
  printf '{"private": true, "type": "module"}\n' > "$work/package.json"
  if ! (cd "$work" && npm install --no-audit --no-fund --loglevel=error "zarrita@$version" >npm.log 2>&1); then
    echo "SKIPPED: npm could not install zarrita@$version into $work (see $work/npm.log):"
    tail -n 5 "$work/npm.log"
    exit 77
  fi
fi
cp "$script" "$work/check_zarrita.mjs"
exec node "$work/check_zarrita.mjs" "$stores" "$@"
