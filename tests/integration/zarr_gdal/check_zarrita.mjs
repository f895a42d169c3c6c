// Reads cubist's Zarr stores with the npm package zarrita (a Zarr v2/v3 reader independent of
// cubist, zarr-python and GDAL) and compares every variable with the values cubist wrote to .npy.
// Usage: node check_zarrita.mjs STORES_DIR STORE...
// The build copies this script next to the node_modules it installs zarrita into, so the bare
// imports below resolve there. Exit 0 when every array of every store matches; 1 otherwise.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";

const [storesDir, ...stores] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const version = JSON.parse(readFileSync(path.join(here, "node_modules/zarrita/package.json"))).version;

// A minimal .npy reader (little-endian, C order), enough for the files cubist's writer makes.
function readNpy(file) {
  const buf = readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.subarray(10 + headerLen);
  const copy = new Uint8Array(bytes).buffer;  // aligned
  const types = { "<f4": Float32Array, "<f8": Float64Array, "<i2": Int16Array, "<i4": Int32Array, "<i8": BigInt64Array };
  if (!types[descr]) throw new Error(`${file}: unsupported npy dtype ${descr}`);
  return { data: new types[descr](copy), shape, descr };
}

function sameValue(a, b) {
  if (typeof a === "number" && Number.isNaN(a)) return Number.isNaN(b);
  return a === b;
}

let failures = 0;
for (const name of stores) {
  const storeDir = path.join(storesDir, name);
  const root = zarr.root(new FileSystemStore(storeDir));
  const group = await zarr.open(root, { kind: "group" });
  for (const variable of ["temperature", "elevation"]) {
    const where = `${name}/${variable}`;
    try {
      const arr = await zarr.open(root.resolve(variable), { kind: "array" });
      const expected = readNpy(path.join(storesDir, `${variable}.npy`));
      const got = await zarr.get(arr);
      if (JSON.stringify(got.shape) !== JSON.stringify(expected.shape))
        throw new Error(`shape ${JSON.stringify(got.shape)} != expected ${JSON.stringify(expected.shape)}`);
      if (got.data.length !== expected.data.length) throw new Error(`length ${got.data.length} != ${expected.data.length}`);
      let differ = 0, nans = 0;
      for (let i = 0; i < expected.data.length; i++) {
        if (!sameValue(got.data[i], expected.data[i])) differ++;
        if (typeof got.data[i] === "number" && Number.isNaN(got.data[i])) nans++;
      }
      if (differ) throw new Error(`${differ} of ${expected.data.length} values differ`);
      const units = arr.attrs.units;
      if (units !== (variable === "temperature" ? "K" : "m")) throw new Error(`attribute units is ${units}`);
      const dims = arr.dimensionNames ?? arr.attrs._ARRAY_DIMENSIONS;
      console.log(`ok: zarrita ${version} read ${where} (${group.attrs.title ? "group attrs ok, " : ""}` +
                  `dtype ${arr.dtype}, shape ${got.shape}, chunks ${arr.chunks}, dims ${dims}, ${nans} NaN) identical`);
    } catch (e) {
      failures++;
      console.error(`FAIL: zarrita ${version} on ${where}: ${e.message}`);
    }
  }
}
process.exit(failures ? 1 : 0);
