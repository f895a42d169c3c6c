// A small .npy writer (format version 1.0) for handing cubist arrays to numpy/xarray oracles.
#pragma once
#include <cubist/cubist.hpp>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

namespace oracle {

// numpy's dtype descr for a cubist dtype (little-endian machine).
inline std::string npy_descr(cubist::DType t) {
  using cubist::DType;
  switch (t) {
    case DType::Bool: return "|b1";
    case DType::Int8: return "|i1";
    case DType::Int16: return "<i2";
    case DType::Int32: return "<i4";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::DateTime64: return "<M8[ns]";
  }
  throw std::runtime_error("npy: unknown dtype");
}

// Writes a C-ordered chunk: magic, version 1.0, little-endian uint16 header length, the header
// dict padded with spaces and ending in '\n' so that the data starts at a multiple of 64 bytes.
inline void write_npy(const std::string& path, const cubist::Chunk& c) {
  std::string shape = "(";
  for (std::size_t i = 0; i < c.shape().size(); ++i) {
    shape += std::to_string(c.shape()[i]);
    shape += (c.shape().size() == 1 || i + 1 < c.shape().size()) ? "," : "";
    if (i + 1 < c.shape().size()) shape += " ";
  }
  shape += ")";
  std::string header = "{'descr': '" + npy_descr(c.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const std::size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  std::size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) throw std::runtime_error("npy: header too long");
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("npy: cannot write " + path);
  out.write("\x93NUMPY", 6);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if (c.nbytes() > 0) out.write(static_cast<const char*>(c.raw()), static_cast<std::streamsize>(c.nbytes()));
  if (!out) throw std::runtime_error("npy: short write to " + path);
}

}  // namespace oracle
