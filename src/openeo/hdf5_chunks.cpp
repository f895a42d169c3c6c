#include "openeo/hdf5_chunks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "cubist/error.hpp"

namespace cubist::openeo {
namespace {

// HDF5's shuffle filter (H5Z_filter_shuffle): byte j of element i goes to j * n + i.
void shuffle(const unsigned char* in, unsigned char* out, std::size_t n, std::size_t size) {
  for (std::size_t j = 0; j < size; ++j)
    for (std::size_t i = 0; i < n; ++i) out[j * n + i] = in[i * size + j];
}

class Hdf5Chunks : public ChunkWriter {
 public:
  Hdf5Chunks(const std::string& path, const std::string& variable) : path_(path) {
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (file_ < 0) throw IOError(fmt::format("{}: HDF5 cannot open the netCDF-4 file for writing", path));
    try {
      inspect(variable);
    } catch (...) {
      if (dataset_ >= 0) H5Dclose(dataset_);
      H5Fclose(file_);
      throw;
    }
  }

  ~Hdf5Chunks() override {
    if (dataset_ >= 0) H5Dclose(dataset_);
    if (file_ >= 0) H5Fclose(file_);
  }

  // The variable's type, shape, chunk shape and filter pipeline.
  void inspect(const std::string& variable) {
    dataset_ = H5Dopen2(file_, variable.c_str(), H5P_DEFAULT);
    if (dataset_ < 0) fail(fmt::format("no variable '{}'", variable));
    const hid_t type = H5Dget_type(dataset_);
    element_size_ = H5Tget_size(type);
    is_double_ = H5Tequal(type, H5T_NATIVE_DOUBLE) > 0;
    memory_type_ = is_double_ ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    const bool known_type = is_double_ || H5Tequal(type, H5T_NATIVE_FLOAT) > 0;
    H5Tclose(type);
    if (!known_type) fail(fmt::format("variable '{}' is neither float32 nor float64", variable));
    const hid_t space = H5Dget_space(dataset_);
    shape_.resize(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, shape_.data(), nullptr);
    H5Sclose(space);
    const hid_t plist = H5Dget_create_plist(dataset_);
    block_.resize(shape_.size());
    const bool chunked = H5Pget_layout(plist) == H5D_CHUNKED &&
                         H5Pget_chunk(plist, static_cast<int>(block_.size()), block_.data()) == static_cast<int>(block_.size());
    // Direct writes only for the pipelines we reproduce exactly: [shuffle,] deflate.
    direct_ = chunked;
    const int filters = H5Pget_nfilters(plist);
    for (int f = 0; f < filters && direct_; ++f) {
      unsigned flags = 0, values[4] = {0, 0, 0, 0};
      std::size_t count = 4;
      const H5Z_filter_t id = H5Pget_filter2(plist, static_cast<unsigned>(f), &flags, &count, values, 0, nullptr, nullptr);
      if (id == H5Z_FILTER_SHUFFLE && f == 0) shuffle_ = true;
      else if (id == H5Z_FILTER_DEFLATE && f == filters - 1 && count >= 1) level_ = static_cast<int>(values[0]);
      else direct_ = false;
    }
    direct_ = direct_ && level_ >= 0;
    H5Pclose(plist);
  }

  bool thread_safe() const override { return true; }

  void write(const Chunk& chunk, std::span<const std::int64_t> offset) override {
    std::vector<hsize_t> start(offset.begin(), offset.end()), count(chunk.shape().begin(), chunk.shape().end());
    if (!direct_ || !one_block(start, count)) return write_through_pipeline(chunk, start, count);
    // The whole HDF5 chunk: an edge chunk is padded with the fill value (NaN) as HDF5 does.
    std::size_t n = 1;
    for (hsize_t b : block_) n *= b;
    std::vector<unsigned char> padded;
    const unsigned char* raw = static_cast<const unsigned char*>(chunk.raw());
    if (count != block_) {
      padded = nan_block(n);
      copy_into_block(raw, count, padded.data());
      raw = padded.data();
    }
    const std::size_t bytes = n * element_size_;
    std::vector<unsigned char> shuffled;
    if (shuffle_) {
      shuffled.resize(bytes);
      shuffle(raw, shuffled.data(), n, element_size_);
      raw = shuffled.data();
    }
    uLongf size = compressBound(static_cast<uLong>(bytes));
    std::vector<unsigned char> compressed(size);
    if (compress2(compressed.data(), &size, raw, static_cast<uLong>(bytes), level_) != Z_OK)
      throw IOError(fmt::format("{}: zlib failed to compress a chunk of 'data'", path_));
    std::lock_guard lock(mutex_);
    if (H5Dwrite_chunk(dataset_, H5P_DEFAULT, 0, start.data(), size, compressed.data()) < 0)
      fail(fmt::format("writing the chunk at {} of 'data'", fmt::join(start, ",")));
  }

  // Closes the file; errors surface here rather than being lost in the destructor.
  void finish() override {
    const herr_t d = H5Dclose(dataset_), f = H5Fclose(file_);
    dataset_ = file_ = -1;
    if (d < 0 || f < 0) throw IOError(fmt::format("{}: HDF5 failed to close the file", path_));
  }

 private:
  std::string path_;
  hid_t file_ = -1, dataset_ = -1, memory_type_ = -1;
  std::vector<hsize_t> shape_, block_;
  std::size_t element_size_ = 0;
  bool is_double_ = false, direct_ = false, shuffle_ = false;
  int level_ = -1;
  std::mutex mutex_;

  [[noreturn]] void fail(const std::string& what) { throw IOError(fmt::format("{}: HDF5: {}", path_, what)); }

  // The chunk is exactly one HDF5 chunk: aligned, and full or cut only by the array's end.
  bool one_block(const std::vector<hsize_t>& start, const std::vector<hsize_t>& count) const {
    for (std::size_t a = 0; a < block_.size(); ++a)
      if (start[a] % block_[a] || !(count[a] == block_[a] || start[a] + count[a] == shape_[a]) || count[a] > block_[a])
        return false;
    return true;
  }

  std::vector<unsigned char> nan_block(std::size_t n) const {
    std::vector<unsigned char> out(n * element_size_);
    if (is_double_) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      for (std::size_t i = 0; i < n; ++i) std::memcpy(out.data() + i * 8, &nan, 8);
    } else {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      for (std::size_t i = 0; i < n; ++i) std::memcpy(out.data() + i * 4, &nan, 4);
    }
    return out;
  }

  // Copies a C-order chunk of `count` into the top corner of a C-order block, row by row.
  void copy_into_block(const unsigned char* in, const std::vector<hsize_t>& count, unsigned char* out) const {
    const std::size_t rank = count.size(), row = count[rank - 1] * element_size_;
    std::vector<hsize_t> index(rank, 0);
    std::size_t rows = 1;
    for (std::size_t a = 0; a + 1 < rank; ++a) rows *= count[a];
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t at = 0;
      for (std::size_t a = 0; a < rank; ++a) at = at * block_[a] + index[a];
      std::memcpy(out + at * element_size_, in + r * row, row);
      for (std::size_t a = rank - 1; a-- > 0;) {
        if (++index[a] < count[a]) break;
        index[a] = 0;
      }
    }
  }

  void write_through_pipeline(const Chunk& chunk, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count) {
    std::lock_guard lock(mutex_);
    const hid_t file_space = H5Dget_space(dataset_);
    const hid_t memory_space = H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr);
    herr_t r = H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    if (r >= 0) r = H5Dwrite(dataset_, memory_type_, memory_space, file_space, H5P_DEFAULT, chunk.raw());
    H5Sclose(memory_space);
    H5Sclose(file_space);
    if (r < 0) fail(fmt::format("writing values at {} of 'data'", fmt::join(start, ",")));
  }

};

}  // namespace

std::unique_ptr<ChunkWriter> open_hdf5_chunk_writer(const std::string& path, const std::string& variable) {
  return std::make_unique<Hdf5Chunks>(path, variable);
}

}  // namespace cubist::openeo
