// Element types of cubist arrays, with numpy's names and promotion rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace cubist {

// datetime64[ns] is stored as int64 nanoseconds since 1970-01-01; NaT is INT64_MIN.
enum class DType : std::uint8_t {
  Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64, DateTime64
};

inline constexpr std::int64_t kNaT = INT64_MIN;

std::size_t itemsize(DType t);
std::string_view dtype_name(DType t);          // "float32", "datetime64[ns]", ...
DType parse_dtype(std::string_view name);      // throws cubist::TypeError naming the bad name
bool is_float(DType t);
bool is_integer(DType t);                      // signed or unsigned, not bool/datetime
bool is_signed_integer(DType t);
bool is_unsigned_integer(DType t);
inline bool is_numeric(DType t) { return t != DType::DateTime64; }

// numpy's result_type for two arrays (int8 + uint8 -> int16, int32 + float32 -> float64 ...).
DType promote_types(DType a, DType b);

template <class T> constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, bool>) return DType::Bool;
  else if constexpr (std::is_same_v<T, std::int8_t>) return DType::Int8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return DType::Int16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::Int32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::Int64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::UInt8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return DType::UInt16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return DType::UInt32;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return DType::UInt64;
  else if constexpr (std::is_same_v<T, float>) return DType::Float32;
  else if constexpr (std::is_same_v<T, double>) return DType::Float64;
  else static_assert(sizeof(T) == 0, "cubist: unsupported element type");
}

// True when a buffer of dtype `t` may be viewed as C++ type T (datetime64 is viewed as int64_t).
template <class T> constexpr bool storage_matches(DType t) {
  return dtype_of<T>() == t || (t == DType::DateTime64 && std::is_same_v<T, std::int64_t>);
}

template <class T> struct TypeTag { using type = T; };

// Calls f(TypeTag<T>{}) with the C++ storage type of `t`.
template <class F> decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(TypeTag<bool>{});
    case DType::Int8: return f(TypeTag<std::int8_t>{});
    case DType::Int16: return f(TypeTag<std::int16_t>{});
    case DType::Int32: return f(TypeTag<std::int32_t>{});
    case DType::Int64: return f(TypeTag<std::int64_t>{});
    case DType::UInt8: return f(TypeTag<std::uint8_t>{});
    case DType::UInt16: return f(TypeTag<std::uint16_t>{});
    case DType::UInt32: return f(TypeTag<std::uint32_t>{});
    case DType::UInt64: return f(TypeTag<std::uint64_t>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    case DType::DateTime64: return f(TypeTag<std::int64_t>{});
  }
  return f(TypeTag<double>{});  // unreachable; keeps every compiler quiet
}

}  // namespace cubist
