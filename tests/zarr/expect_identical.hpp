// Test helper: two Datasets hold the same data — byte-identical values (so NaN payloads and -0.0
// count too), same variables, dims, dtypes, attrs and coordinates (values and attrs).
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cubist/dataset.hpp"

namespace cubist::test_support {

inline void expect_identical(const Dataset& got_lazy, const Dataset& want_lazy) {
  Dataset got = got_lazy.compute(), want = want_lazy.compute();
  ASSERT_EQ(got.data_vars(), want.data_vars());
  EXPECT_EQ(got.attrs(), want.attrs());
  auto same = [](const std::string& what, const Chunk& g, const Chunk& w) {
    ASSERT_EQ(g.dtype(), w.dtype()) << what;
    ASSERT_EQ(g.shape(), w.shape()) << what;
    Chunk gc = g.contiguous(), wc = w.contiguous();
    EXPECT_EQ(std::memcmp(gc.raw(), wc.raw(), gc.nbytes()), 0) << what << ": values differ";
  };
  for (const auto& n : want.data_vars()) {
    EXPECT_EQ(got[n].dims(), want[n].dims()) << n;
    EXPECT_EQ(got[n].attrs(), want[n].attrs()) << n;
    same(n, got[n].memory_chunk(), want[n].memory_chunk());
  }
  ASSERT_EQ(got.coords().size(), want.coords().size());
  for (const auto& [n, c] : want.coords()) {
    same("coord " + n, got.coords().at(n).values(), c.values());
    EXPECT_EQ(got.coords().at(n).attrs(), c.attrs()) << n;
  }
}

}  // namespace cubist::test_support
