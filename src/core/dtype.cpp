#include "cubist/dtype.hpp"

#include <array>
#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist {
namespace {
struct DTypeInfo {
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 12> kInfo{{{"bool", 1},
                                           {"int8", 1},
                                           {"int16", 2},
                                           {"int32", 4},
                                           {"int64", 8},
                                           {"uint8", 1},
                                           {"uint16", 2},
                                           {"uint32", 4},
                                           {"uint64", 8},
                                           {"float32", 4},
                                           {"float64", 8},
                                           {"datetime64[ns]", 8}}};

DType signed_of_size(std::size_t bytes) {
  switch (bytes) {
    case 1: return DType::Int8;
    case 2: return DType::Int16;
    case 4: return DType::Int32;
    default: return DType::Int64;
  }
}
}  // namespace

std::size_t itemsize(DType t) { return kInfo[static_cast<std::size_t>(t)].size; }
std::string_view dtype_name(DType t) { return kInfo[static_cast<std::size_t>(t)].name; }

DType parse_dtype(std::string_view name) {
  for (std::size_t i = 0; i < kInfo.size(); ++i)
    if (kInfo[i].name == name) return static_cast<DType>(i);
  if (name == "datetime64" || name == "M8[ns]" || name == "<M8[ns]") return DType::DateTime64;
  if (name == "float") return DType::Float64;
  if (name == "int") return DType::Int64;
  throw TypeError(fmt::format("unknown dtype '{}' (expected one of bool, int8..int64, uint8..uint64, "
                              "float32, float64, datetime64[ns])",
                              name));
}

bool is_float(DType t) { return t == DType::Float32 || t == DType::Float64; }
bool is_signed_integer(DType t) { return t >= DType::Int8 && t <= DType::Int64; }
bool is_unsigned_integer(DType t) { return t >= DType::UInt8 && t <= DType::UInt64; }
bool is_integer(DType t) { return is_signed_integer(t) || is_unsigned_integer(t); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::DateTime64 || b == DType::DateTime64)
    throw TypeError(fmt::format("cannot combine {} with {}", dtype_name(a), dtype_name(b)));
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  if (is_float(a) && is_float(b)) return DType::Float64;
  if (is_float(a) || is_float(b)) {
    DType f = is_float(a) ? a : b, i = is_float(a) ? b : a;
    if (f == DType::Float64) return DType::Float64;
    return itemsize(i) <= 2 ? DType::Float32 : DType::Float64;
  }
  if (is_signed_integer(a) == is_signed_integer(b)) return itemsize(a) >= itemsize(b) ? a : b;
  DType s = is_signed_integer(a) ? a : b, u = is_signed_integer(a) ? b : a;
  if (itemsize(s) > itemsize(u)) return s;
  if (itemsize(u) < 8) return signed_of_size(2 * itemsize(u));
  return DType::Float64;  // int64 with uint64, as numpy
}

}  // namespace cubist
