// Memory-layout helpers on raw C-order arrays: fill, sub-block copy, axis permutation, byte swap.
// Each dispatches once on the element size, then runs typed loops (no per-element virtual calls).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cubist/chunk.hpp"

namespace cubist::zarr::detail {

// Writes `count` copies of the `itemsize`-byte pattern `fill`.
void fill_elements(std::byte* dst, std::int64_t count, const std::array<std::byte, 8>& fill, std::size_t itemsize);

// Copies the block of shape `block` at `offset` inside the C-order array `outer` (shape
// `outer_shape`) to the contiguous buffer `dense` (to_dense) or back (!to_dense).
void copy_block(std::byte* outer, const Shape& outer_shape, const Shape& offset, std::byte* dense, const Shape& block,
                std::size_t itemsize, bool to_dense);

// Copies the block of shape `block` at `src_offset` of the C-order array `src` (shape `src_shape`)
// to `dst_offset` of the C-order array `dst` (shape `dst_shape`).
void copy_subarray(const std::byte* src, const Shape& src_shape, const Shape& src_offset, std::byte* dst,
                   const Shape& dst_shape, const Shape& dst_offset, const Shape& block, std::size_t itemsize);

// Packs the block of shape `block` at `offset` of a strided array (element strides, as
// Chunk::strides(); `base` is its first element) into the contiguous C-order buffer `dense`.
void pack_strided_block(const std::byte* base, const Shape& strides, const Shape& offset, std::byte* dense,
                        const Shape& block, std::size_t itemsize);

// Writes the C-order array `dst` of shape `full` as the strided block of shape `block` (element
// strides, `base` its first element; block <= full on every axis) at its origin, padded with the
// `fill` pattern: every byte of dst written once (a Zarr edge chunk stored at the full chunk shape).
void pad_block(const std::byte* base, const Shape& strides, const Shape& block, std::byte* dst, const Shape& full,
               const std::array<std::byte, 8>& fill, std::size_t itemsize);

// dst = numpy.transpose(src, perm): dst.shape[i] = src_shape[perm[i]].
void permute_axes(const std::byte* src, const Shape& src_shape, std::byte* dst, const std::vector<int>& perm,
                  std::size_t itemsize);

// Reverses the byte order of every element in place.
void byteswap(std::byte* data, std::int64_t count, std::size_t itemsize);

// True when the block at `offset` of shape `block` is one contiguous run of `outer`.
bool block_is_contiguous(const Shape& outer_shape, const Shape& block);
std::int64_t block_linear_offset(const Shape& outer_shape, const Shape& offset);

}  // namespace cubist::zarr::detail
