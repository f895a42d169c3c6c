// Open GDAL datasets, cached per thread: a GDAL dataset handle must not be used by two threads at
// once, and reopening a COG for every chunk would re-read its header.
#pragma once
#include <gdal_priv.h>

#include <string>

#include "raster/tiff_tile_decoder.hpp"

namespace cubist::raster {

// The dataset for `href` (GDAL path computed here), opened at most once per thread while it stays
// among the most recently used few. Throws IOError naming the href when it cannot be opened.
GDALDataset& cached_dataset(const std::string& href);

// What identifies the contents of the file cached_dataset(href) opened: href, size and modification
// time at open (VSIStatL). Decoded tiles shared between threads are keyed by it, so tiles of a file
// replaced since are not mistaken for those of the handle a thread still holds.
const std::string& cached_dataset_identity(const std::string& href);

// The tile decoder of the dataset cached_dataset(href) opened (made on first use, closed with it).
TileDecoder& cached_tile_decoder(const std::string& href);

// Closes this thread's cached datasets (read_into's per-thread state goes with them).
void close_cached_datasets();

}  // namespace cubist::raster
