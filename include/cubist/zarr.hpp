// Zarr v2 and v3 storage: stores, array metadata, chunk read/write, groups, xarray/CF conventions.
//
// The array layer wires these into lazy Datasets: it opens a group once (metadata parsed once),
// then source tasks call ZarrArray::read_chunk(i) and sink tasks ZarrArray::write_chunk(i, c) in
// parallel; ZarrWriter::commit() runs last so a store is only advertised once its chunks exist.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cubist/chunk.hpp"
#include "cubist/chunk_grid.hpp"
#include "cubist/dtype.hpp"
#include "cubist/error.hpp"

namespace cubist::zarr {

// ---------------------------------------------------------------------------------------------
// Bytes: an owned, uninitialised-on-allocation byte buffer (no memset before a read or decode).
class Bytes {
 public:
  Bytes() = default;
  explicit Bytes(std::size_t size);
  static Bytes copy_of(std::span<const std::byte> data);
  static Bytes copy_of(std::string_view text);

  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }
  std::span<std::byte> mutable_span() { return {data_.get(), size_}; }
  std::string_view as_string() const { return {reinterpret_cast<const char*>(data_.get()), size_}; }
  // Shrinks the visible size (capacity is kept); growing beyond the allocation is an error.
  void truncate(std::size_t size);
  // Sets the size, reallocating (contents discarded) only when it exceeds the capacity: lets a
  // per-thread buffer be reused chunk after chunk without new pages being faulted in.
  void resize_discard(std::size_t size);
  std::size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Store: a flat key -> bytes map with '/'-separated keys. Small on purpose so HTTP/S3 fit later.
// Every method is safe to call concurrently from many threads.
class Store {
 public:
  virtual ~Store() = default;
  // The whole value, or nullopt when the key is absent (by default through get_into).
  virtual std::optional<Bytes> get(std::string_view key) const;
  // Like get, into `buffer` (reusing its capacity); false when the key is absent.
  virtual bool get_into(std::string_view key, Bytes& buffer) const = 0;
  // Bytes [offset, offset + length) of the value; nullopt / false when the key is absent. A range
  // reaching past the end of the value is an IOError naming the key, the range and the size.
  // The default reads the whole value; DirectoryStore reads only the range (pread) and HttpStore
  // asks for it with a Range request (checking the 206 answer; a server that ignores Range and
  // sends the whole value still works).
  std::optional<Bytes> get_range(std::string_view key, std::uint64_t offset, std::uint64_t length) const;
  virtual bool get_range_into(std::string_view key, std::uint64_t offset, std::uint64_t length, Bytes& buffer) const;
  // The last min(length, size) bytes of the value (a shard index stored at its end) into
  // `buffer`, and the value's size; nullopt when the key is absent.
  virtual std::optional<std::uint64_t> get_suffix_into(std::string_view key, std::uint64_t length, Bytes& buffer) const;
  // Calls `use` once with the whole value and returns true, or returns false when the key is
  // absent. The bytes are valid only during the call, so a store may lend its own memory instead
  // of copying: DirectoryStore maps files of 1 MiB and more (no copy out of the page cache);
  // smaller ones, and the default, are read into `scratch` (reusing its capacity).
  virtual bool read_with(std::string_view key, Bytes& scratch,
                         const std::function<void(std::span<const std::byte>)>& use) const;
  // Atomic: readers see the old value or the new one, never a torn one.
  virtual void set(std::string_view key, std::span<const std::byte> value) = 0;
  void set(std::string_view key, std::string_view text);
  virtual void erase(std::string_view key) = 0;               // no-op when absent
  virtual void erase_prefix(std::string_view prefix);          // every key under prefix/ (or all for "")
  virtual std::vector<std::string> list(std::string_view prefix) const = 0;  // all keys under prefix, sorted
  // Immediate children (keys and "directories") of prefix, names only, sorted.
  virtual std::vector<std::string> list_dir(std::string_view prefix) const = 0;
  virtual bool exists(std::string_view key) const;
  virtual std::string describe() const = 0;  // for error messages: the path or URL
};

// Throws ValueError naming the key when it is empty, absolute, has '..' or '.' segments,
// backslashes, NUL or empty segments. Prefixes ("" allowed) go through validate_prefix.
void validate_key(std::string_view key);
void validate_prefix(std::string_view prefix);

// A local directory; created lazily on the first write.
std::shared_ptr<Store> open_directory_store(const std::filesystem::path& root);
// Store for a path or URL: plain paths and file:// (read-write), http:// and https:// (read-only).
std::shared_ptr<Store> open_store(std::string_view path_or_url);

// ---------------------------------------------------------------------------------------------
// Array metadata, normalised across v2 and v3 but keeping the codec JSON as written so the same
// metadata round-trips and can travel as a serialisable task parameter.
struct ArrayMetadata {
  int zarr_format = 2;
  Shape shape;
  Shape chunks;                  // chunk (v3: shard) shape
  DType dtype = DType::Float64;  // decoded dtype (cubist)
  bool big_endian = false;       // v2 only ("'>f4'"); v3 endianness lives in the "bytes" codec
  nlohmann::json fill_value;     // as in the metadata: null, number, "NaN", "Infinity", "-Infinity", bool
  // v2 encoding
  char order = 'C';
  nlohmann::json compressor;     // null or numcodecs config {"id": "blosc", ...}
  nlohmann::json filters;        // null or list (only null/empty supported)
  char dimension_separator = '.';
  // v3 encoding
  nlohmann::json codecs = nlohmann::json::array();
  std::string chunk_key_encoding = "default";  // "default" ("c/0/1") or "v2" ("0.1")
  char chunk_key_separator = '/';
  // both
  std::vector<std::string> dimension_names;  // v2: attrs _ARRAY_DIMENSIONS (removed from attributes)
  nlohmann::json attributes = nlohmann::json::object();

  std::int64_t chunk_nbytes() const { return shape_size(chunks) * static_cast<std::int64_t>(itemsize(dtype)); }
  ChunkGrid chunk_grid() const { return ChunkGrid::regular(shape, chunks); }
};

// Parse v2 .zarray (+ optional .zattrs) or v3 zarr.json (node_type array). `where` names the file
// in errors ("store/path/.zarray: field 'shape': ..."). Unsupported dtypes throw TypeError.
ArrayMetadata parse_array_metadata_v2(const nlohmann::json& zarray, const nlohmann::json& zattrs,
                                      std::string_view where);
ArrayMetadata parse_array_metadata_v3(const nlohmann::json& zarr_json, std::string_view where);
// Parse JSON text, naming `where` on syntax errors (truncated files...).
nlohmann::json parse_json(std::string_view text, std::string_view where);

// Serialise back: v2 returns {.zarray, .zattrs (with _ARRAY_DIMENSIONS)}; v3 returns zarr.json.
nlohmann::json to_zarray(const ArrayMetadata& m);
nlohmann::json to_zattrs(const ArrayMetadata& m);
nlohmann::json to_zarr_json(const ArrayMetadata& m);
// Metadata as one JSON value and back, for task parameters that travel to workers
// (v2: {".zarray": ..., ".zattrs": ...}; v3: the zarr.json document).
nlohmann::json metadata_to_json(const ArrayMetadata& m);
ArrayMetadata metadata_from_json(const nlohmann::json& j, std::string_view where = "task parameter");
// Formats JSON as zarr-python does (4-space indent, sorted keys, ASCII).
std::string dump_json(const nlohmann::json& j);

// The encoding xarray.to_zarr uses by default (v2: blosc lz4 clevel 5 byte-shuffle, order C,
// fill NaN for floats / null otherwise, "_ARRAY_DIMENSIONS"); v3: bytes + blosc lz4 shuffle.
ArrayMetadata default_array_metadata(std::vector<std::string> dims, Shape shape, Shape chunks, DType dtype,
                                     nlohmann::json attributes = nlohmann::json::object(), int zarr_format = 2);

// Throws ValueError/TypeError when the codecs in `m` are unknown or inconsistent (checked by open/create).
void validate_codecs(const ArrayMetadata& m, std::string_view where);

// ---------------------------------------------------------------------------------------------
// One Zarr array in a store. Immutable after construction; read_chunk/write_chunk are const and
// thread-safe for concurrent calls (codec contexts are per thread).
class CodecPipeline;  // private (src/zarr)

class ZarrArray {
 public:
  // Reads and parses the metadata at `path` ("" = store root).
  static std::shared_ptr<const ZarrArray> open(std::shared_ptr<Store> store, std::string path);
  // From already-known metadata (consolidated metadata, a task parameter, or an array being written).
  static std::shared_ptr<const ZarrArray> from_metadata(std::shared_ptr<Store> store, std::string path,
                                                        ArrayMetadata metadata);
  ~ZarrArray();

  const ArrayMetadata& metadata() const { return meta_; }
  const std::string& path() const { return path_; }
  const Shape& shape() const { return meta_.shape; }
  DType dtype() const { return meta_.dtype; }
  const std::vector<std::string>& dims() const { return meta_.dimension_names; }
  const ChunkGrid& grid() const { return grid_; }
  const std::shared_ptr<Store>& store() const { return store_; }

  std::string chunk_key(const std::vector<std::int64_t>& index) const;
  // The chunk at `index`, trimmed to the array edge (grid().chunk_shape(index)), C order,
  // native endian. A missing chunk is filled with the fill value (zeros for a null fill).
  Chunk read_chunk(const std::vector<std::int64_t>& index) const;
  Chunk read_chunk(std::int64_t linear) const;  // C-order linear chunk number
  // The elements [offset, offset + shape) of the array, any box across chunks, C order, native
  // endian; ValueError when it leaves the array. A shard only partly inside the box is read in
  // part: its index, then only the inner chunks the box touches (Store::get_range).
  Chunk read_region(const Shape& offset, const Shape& shape) const;
  // Encodes and atomically stores one chunk; `chunk` must have the grid's shape at `index` and the
  // array's dtype. Edge chunks are padded with the fill value, as zarr-python does.
  void write_chunk(const std::vector<std::int64_t>& index, const Chunk& chunk) const;
  void write_chunk(std::int64_t linear, const Chunk& chunk) const;
  // Writes `data` at element `offset` (region writes, appends onto a partial last chunk). Chunks
  // only partly covered are read, merged and rewritten: concurrent region writes must not touch
  // the same chunk (xarray's rule for region/append writes too).
  void write_region(const Shape& offset, const Chunk& data) const;

 private:
  ZarrArray(std::shared_ptr<Store> store, std::string path, ArrayMetadata meta);
  std::string describe_key(std::string_view key) const;
  std::vector<std::int64_t> unravel_checked(std::int64_t linear) const;
  // The box [box_offset, box_offset + box) of the shard at `index` into `out` (shape `out_shape`) at `out_offset`.
  void read_shard_part(const std::vector<std::int64_t>& index, const Shape& box_offset, const Shape& box, std::byte* out,
                       const Shape& out_shape, const Shape& out_offset) const;

  std::shared_ptr<Store> store_;
  std::string path_;
  ArrayMetadata meta_;
  ChunkGrid grid_;
  std::unique_ptr<CodecPipeline> pipeline_;
  std::array<std::byte, 8> fill_{};  // fill value in the native representation of dtype
};

// ---------------------------------------------------------------------------------------------
// Fixed-width string arrays (Zarr v2 numpy dtypes '<U n', '>U n', '|S n'): how xarray stores string
// coordinates (band = ['red', 'nir']). Not ZarrArrays (cubist arrays hold numbers): read whole.
struct StringArray {
  std::vector<std::string> dims;
  Shape shape;
  std::vector<std::string> values;  // C order, UTF-8, numpy's trailing NUL padding removed
  nlohmann::json attributes = nlohmann::json::object();  // without _ARRAY_DIMENSIONS
};
// True when the .zarray JSON has a fixed-width string dtype.
bool is_string_dtype(const nlohmann::json& zarray);
// Reads every chunk of the v2 string array `name` (a missing chunk holds empty strings).
StringArray read_string_array(const Store& store, const std::string& name, const nlohmann::json& zarray,
                              const nlohmann::json& zattrs);
// Writes `a` as '<U n' (n = its longest value, UCS-4 little-endian) in one blosc-lz4 chunk, as
// xarray does; returns {.zarray, .zattrs} for the caller to commit with the other metadata.
std::pair<nlohmann::json, nlohmann::json> write_string_array(Store& store, const std::string& name, const StringArray& a);

// ---------------------------------------------------------------------------------------------
// A group: its attributes and the arrays directly inside it (what xarray.open_zarr opens).
struct SkippedArray {
  std::string name;
  std::string reason;  // e.g. "unsupported dtype '<U5'"
};

struct OpenOptions {
  // nullopt: use consolidated metadata when present; true: require it; false: ignore it.
  std::optional<bool> consolidated;
  // Arrays cubist cannot represent (strings, complex ...) are skipped (listed in skipped()) unless strict.
  bool strict = false;
};

class ZarrGroup {
 public:
  static ZarrGroup open(std::shared_ptr<Store> store, std::string path = "", OpenOptions options = {});
  static ZarrGroup open(std::string_view path_or_url, OpenOptions options = {});

  int zarr_format() const { return zarr_format_; }
  bool consolidated() const { return consolidated_; }
  const nlohmann::json& attributes() const { return attrs_; }
  const std::vector<std::string>& array_names() const { return names_; }  // sorted
  const std::shared_ptr<const ZarrArray>& array(std::string_view name) const;  // KeyError naming it
  const std::vector<SkippedArray>& skipped() const { return skipped_; }
  const std::shared_ptr<Store>& store() const { return store_; }
  // v2 fixed-width string arrays (also listed in skipped(), never raised even when strict): names
  // (sorted) and their contents, read on demand.
  std::vector<std::string> string_array_names() const;
  StringArray read_strings(std::string_view name) const;  // KeyError naming it

 private:
  static ZarrGroup open_impl(std::shared_ptr<Store> store, std::string path, OpenOptions options);
  void add_strings(const std::string& name, nlohmann::json zarray, nlohmann::json zattrs);
  friend class ZarrWriter;

  std::shared_ptr<Store> store_;
  std::string path_;
  int zarr_format_ = 2;
  bool consolidated_ = false;
  nlohmann::json attrs_ = nlohmann::json::object();
  std::vector<std::string> names_;
  std::map<std::string, std::shared_ptr<const ZarrArray>, std::less<>> arrays_;
  std::vector<SkippedArray> skipped_;
  std::map<std::string, std::pair<nlohmann::json, nlohmann::json>, std::less<>> strings_;  // {.zarray, .zattrs}
};

// xarray-like text summary of a group for `cubist info`: dimensions, variables with dtype,
// chunks, codecs and sizes, attributes, and skipped variables.
std::string describe_group(const ZarrGroup& group);
// The codec chain in one line, e.g. "blosc(cname=lz4, clevel=5, shuffle=1)".
std::string describe_codecs(const ArrayMetadata& m);

// ---------------------------------------------------------------------------------------------
// Writing a group: create (or, in append mode, resize) arrays, write their chunks in parallel
// through the returned handles, then commit() writes .zarray/.zattrs/.zgroup and the
// consolidated .zmetadata (v3: zarr.json files) LAST.
enum class WriteMode { Overwrite, CreateOnly, Append };  // xarray's "w", "w-", "a"
WriteMode parse_write_mode(std::string_view mode);         // ValueError on anything else

class ZarrWriter {
 public:
  // "w": existing Zarr content under the store is removed (a non-empty directory that is neither
  // a Zarr store nor a store whose writing did not finish is refused); "w-": cubist::Error if a
  // store exists; "a": opens or creates. A new store holds the key ".cubist-incomplete" until
  // commit(), so a write that died half way can be overwritten with "w".
  ZarrWriter(std::shared_ptr<Store> store, WriteMode mode, int zarr_format = 2, bool consolidated = true);
  ZarrWriter(std::string_view path, WriteMode mode, int zarr_format = 2, bool consolidated = true);

  int zarr_format() const { return zarr_format_; }
  // A new array (error if it already exists in append mode). Metadata is validated now, written at commit.
  std::shared_ptr<const ZarrArray> create_array(const std::string& name, ArrayMetadata metadata);
  // Append mode: grows existing array `name` along dimension `dim` by `extra` elements; the
  // dims, dtype and other extents must match `expected` (DimensionError/TypeError otherwise).
  // Returns the resized handle; the first new element is at the old extent along `dim`.
  std::shared_ptr<const ZarrArray> append_array(const std::string& name, const std::string& dim,
                                                const ArrayMetadata& expected);
  // The existing array (append mode, e.g. for region writes); KeyError when absent.
  std::shared_ptr<const ZarrArray> existing_array(const std::string& name) const;
  // v2 only: writes a fixed-width string array now (one chunk), its metadata at commit. In append
  // mode an existing string array of that name is left as it is (returns false).
  bool write_strings(const std::string& name, const StringArray& a);
  void set_attributes(nlohmann::json attributes);
  // Writes all metadata; consolidated metadata last. Idempotent.
  void commit();

 private:
  std::shared_ptr<Store> store_;
  int zarr_format_;
  bool consolidated_;
  nlohmann::json attrs_ = nlohmann::json::object();
  std::map<std::string, std::shared_ptr<const ZarrArray>> arrays_;  // every array of the group
  std::map<std::string, std::pair<nlohmann::json, nlohmann::json>> strings_;  // string arrays: {.zarray, .zattrs}
};

// ---------------------------------------------------------------------------------------------
// xarray / CF conventions, as pure functions.
namespace cf {

// "<unit> since <date>", e.g. "days since 2000-01-01", "hours since 1970-01-01 00:00:00".
struct TimeUnits {
  std::int64_t ns_per_unit = 0;  // 86400e9 for days
  std::int64_t epoch_ns = 0;     // reference date as ns since 1970-01-01
  std::string unit;              // normalised: "days", "hours", ...
};
// calendar: "standard", "gregorian", "proleptic_gregorian" (or empty); others throw ValueError.
TimeUnits parse_time_units(std::string_view units, std::string_view calendar = "standard");
std::string format_timestamp(std::int64_t ns);  // as str(pandas.Timestamp): "2000-01-01 00:00:00"
// datetime64[ns] chunk from encoded numbers (any numeric dtype); values equal to a fill value
// (or NaN) become NaT.
Chunk decode_times(const Chunk& encoded, const TimeUnits& units, std::span<const double> fill_values = {});
// int64 chunk (NaT -> fill, default INT64_MIN as xarray) from a datetime64[ns] chunk; ValueError when
// a time is not a whole multiple of the unit.
Chunk encode_times(const Chunk& times, const TimeUnits& units, std::int64_t nat_fill = kNaT);
// xarray's infer_datetime_units: the coarsest unit dividing all steps, since the first valid time.
std::string infer_time_units(std::span<const std::int64_t> times_ns);
// True when `attrs` mark a CF time variable (units "<unit> since <date>").
bool is_time_variable(const nlohmann::json& attrs);

// How xarray would decode a variable: mask fill values to NaN, then x * scale_factor + add_offset.
struct Decoding {
  std::vector<double> fill_values;  // _FillValue and missing_value (v2: the zarr fill_value is _FillValue)
  std::optional<double> scale_factor, add_offset;
  DType decoded_dtype = DType::Float64;  // dtype after decoding (xarray's rules)
  bool identity() const { return fill_values.empty() && !scale_factor && !add_offset; }
};
// `fill_value` is the zarr fill value (null when none); attrs may hold _FillValue/missing_value/
// scale_factor/add_offset. Time variables are not handled here (see decode_times).
Decoding decoding_for(const nlohmann::json& attrs, const nlohmann::json& fill_value, DType stored);
Chunk apply_decoding(const Chunk& stored, const Decoding& d);
// xarray's CF encoding on write (CFScaleOffsetCoder, CFMaskCoder, then the cast to the stored
// dtype): stored = (x - add_offset) / scale_factor computed in compute_dtype, NaN -> fill_value,
// rounded half to even when stored_dtype is an integer type.
struct Encoding {
  std::optional<double> scale_factor, add_offset;
  std::optional<double> fill_value;       // in stored units
  DType compute_dtype = DType::Float64;   // xarray's _choose_float_dtype(decoded, has add_offset)
  DType stored_dtype = DType::Float64;
};
// `stored` defaults to the compute dtype (floats are then only scaled).
Encoding encoding_for(DType decoded, std::optional<DType> stored, std::optional<double> scale_factor,
                      std::optional<double> add_offset, std::optional<double> fill_value);
// ValueError naming the value when NaN has no fill value or a value does not fit stored_dtype.
Chunk apply_encoding(const Chunk& decoded, const Encoding& e);
nlohmann::json encoding_to_json(const Encoding& e);
Encoding encoding_from_json(const nlohmann::json& j, std::string_view where);

// Converts a fill-value JSON (number, "NaN", ...) to double; nullopt for null.
std::optional<double> fill_value_as_double(const nlohmann::json& fill_value);

}  // namespace cf
}  // namespace cubist::zarr
