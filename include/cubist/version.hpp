#pragma once
namespace cubist {
inline constexpr const char* kVersion = "0.1.0";
}
