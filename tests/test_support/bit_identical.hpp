// Two lists of chunks with the same shapes, dtypes and bytes (NaN payloads included), chunk by chunk.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist::test_support {

inline void expect_bit_identical(const std::vector<Chunk>& a, const std::vector<Chunk>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].dtype(), b[i].dtype()) << "chunk " << i;
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "chunk " << i;
    const Chunk x = a[i].contiguous(), y = b[i].contiguous();
    EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0) << "chunk " << i;
  }
}

}  // namespace cubist::test_support
