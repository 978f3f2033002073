//===- Idx.h - Reading and writing IDX files (the MNIST format) -*- C++ -*-===//
//
// An IDX file is
//
//   offset 0   0x00 0x00 <type> <ndim>            the magic, e.g. 0x00000803
//   offset 4   ndim big-endian u32 dimensions      dimension 0 counts examples
//   offset 4+4*ndim  the elements, big-endian, row-major
//
// with <type> one of 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64.
// Files may be gzip-compressed (zlib reads plain files transparently); all
// offsets in messages are offsets into the decompressed content.
//
// The reader never trusts the header: the data size implied by the dimensions
// is checked for overflow and then against the bytes actually present, which
// are read in chunks, so a header that claims terabytes costs nothing.
// Every malformed file yields an Error naming the file, the offset and what
// was expected; nothing here throws or aborts on bad input.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// IDX element types, by their code in byte 2 of the magic.
enum class IdxType : uint8_t {
  U8 = 0x08,
  I8 = 0x09,
  I16 = 0x0B,
  I32 = 0x0C,
  F32 = 0x0D,
  F64 = 0x0E,
};

/// "u8", "i8", "i16", "i32", "f32", "f64".
const char *idx_type_name(IdxType t);
/// Bytes per element: 1, 1, 2, 4, 4, 8.
size_t idx_type_size(IdxType t);
/// The type for an IDX type code, or nullopt when the code is not one.
std::optional<IdxType> idx_type_from_code(uint8_t code);

/// The validated content of an IDX file, elements still big-endian as stored.
struct IdxFile {
  std::string path;
  IdxType type = IdxType::U8;
  /// Dimensions; shape[0] is the number of examples kept (after any limit).
  std::vector<int64_t> shape;
  /// The number of examples the file holds (shape[0] before any limit).
  int64_t file_count = 0;
  /// shape[0] * example_size() elements of idx_type_size(type) bytes each.
  std::vector<uint8_t> data;

  /// Elements per example: the product of shape[1:] (1 for rank 1).
  int64_t example_size() const;
};

/// Reads and validates an IDX file, plain or gzip-compressed. The whole file
/// is checked (truncation, trailing bytes, gzip integrity) even when `limit`
/// keeps only the first `limit` examples in memory.
Expected<IdxFile> read_idx(const std::string &path, std::optional<int64_t> limit = std::nullopt);

/// A dense float array in host order: shape[0] examples of shape[1:] each.
struct HostArray {
  std::vector<int64_t> shape;
  std::vector<float> data;

  /// shape[0], or 0 for an empty array.
  int64_t count() const { return shape.empty() ? 0 : shape[0]; }
  /// Elements per example: the product of shape[1:].
  int64_t example_size() const;
  /// Keeps the first n examples (all of them when n < 0 or n >= count()).
  void keep_first(int64_t n);
};

/// Converts any IDX type to floats; u8 is divided by 255 when `scale_u8`.
HostArray idx_to_floats(const IdxFile &f, bool scale_u8);

/// Converts an integer-typed, rank-1 IDX file to int32 labels. Float types
/// and higher ranks are errors naming the file.
Expected<std::vector<int32_t>> idx_to_labels(const IdxFile &f);

/// read_idx + idx_to_floats: images (or any inputs) as floats.
Expected<HostArray> load_idx_floats(const std::string &path, bool scale_u8,
                                    std::optional<int64_t> limit = std::nullopt);

/// read_idx + idx_to_labels: one int32 class label per example.
Expected<std::vector<int32_t>> load_idx_labels(const std::string &path, std::optional<int64_t> limit = std::nullopt);

/// Encodes an IDX file (header and big-endian elements) in memory. `values`
/// holds the product of `shape` elements, converted to `type` by a C cast.
std::vector<uint8_t> encode_idx(IdxType type, std::span<const int64_t> shape, std::span<const double> values);

/// Writes `bytes` to `path`, gzip-compressed when `gzip`.
Expected<void> write_file_bytes(const std::string &path, std::span<const uint8_t> bytes, bool gzip);

/// encode_idx + write_file_bytes.
Expected<void> write_idx(const std::string &path, IdxType type, std::span<const int64_t> shape,
                         std::span<const double> values, bool gzip);

/// The product of `shape` (1 for an empty shape).
int64_t num_elements(std::span<const int64_t> shape);

/// "28x28": a shape as the data messages print it.
std::string shape_string(std::span<const int64_t> shape);

/// "[28, 28]": a shape as a bracketed list, as the model language writes it.
std::string shape_list(std::span<const int64_t> shape);

} // namespace netc::rt
