#include <gtest/gtest.h>

#include <vector>

#include "core/chunk_pages.hpp"

using cubist::detail::ByteRange;
using cubist::detail::page_runs;

namespace {
constexpr std::size_t kPage = 4096;

// The ranges an input writes into an output of `rows` rows of `row_bytes`: [x0, x1) of each row.
std::vector<ByteRange> rows_of(std::size_t rows, std::size_t row_bytes, std::size_t x0, std::size_t x1) {
  std::vector<ByteRange> out;
  for (std::size_t r = 0; r < rows; ++r) out.push_back({r * row_bytes + x0, r * row_bytes + x1});
  return out;
}
}  // namespace

TEST(PageRuns, AnInputReachingFromRowToRowIsOneRunOfThePagesItTouches) {
  // Rows of two pages; the input writes from byte 2400 to the end of each row: it touches both
  // pages of every row, so its pages are one run, rounded out to whole pages.
  const auto runs = page_runs(rows_of(64, 2 * kPage, 2400, 2 * kPage), kPage, 16 * kPage);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], (ByteRange{0, 128 * kPage}));
}

TEST(PageRuns, AnInputWritingOnePageOfEachRowHasNoRunWorthMoving) {
  // The first 2400 bytes of each two-page row: every other page, none of the runs long enough.
  EXPECT_TRUE(page_runs(rows_of(64, 2 * kPage, 0, 2400), kPage, 2 * kPage).empty());
  // With a one-page minimum, each row's first page is a run of its own (never its second page).
  const auto runs = page_runs(rows_of(3, 2 * kPage, 0, 2400), kPage, kPage);
  EXPECT_EQ(runs, (std::vector<ByteRange>{{0, kPage}, {2 * kPage, 3 * kPage}, {4 * kPage, 5 * kPage}}));
}

TEST(PageRuns, RowsNotAlignedToPagesMergeWhereTheirPagesTouch) {
  // Rows of 4648 bytes (581 doubles), the input writing bytes [0, 3000) of each: the 1648 bytes
  // between two rows' writes are less than a page, so every row's pages touch the previous row's.
  const auto runs = page_runs(rows_of(8, 4648, 0, 3000), kPage, kPage);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].begin, 0u);
  EXPECT_EQ(runs[0].end, (7 * 4648 + 3000 + kPage - 1) / kPage * kPage);
}

TEST(PageRuns, SeparateSpansStaySeparateAndEmptyRangesAreIgnored) {
  std::vector<ByteRange> ranges{{0, 10}, {5, 5}, {kPage, kPage + 1}, {10 * kPage + 1, 12 * kPage}};
  const auto runs = page_runs(ranges, kPage, kPage);
  EXPECT_EQ(runs, (std::vector<ByteRange>{{0, 2 * kPage}, {10 * kPage, 12 * kPage}}));
  EXPECT_EQ(page_runs(ranges, kPage, 3 * kPage), std::vector<ByteRange>{});
  EXPECT_TRUE(page_runs({}, kPage, kPage).empty());
}
