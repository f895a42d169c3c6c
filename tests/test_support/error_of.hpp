// The one-line message a test expects from a failing call, shared by the test binaries.
#pragma once
#include <functional>
#include <string>

#include <cubist/error.hpp>

namespace cubist::test_support {

// The message of the E that f throws, or "(no error)".
template <class E = cubist::Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace cubist::test_support
