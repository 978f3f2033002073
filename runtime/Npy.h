//===- Npy.h - Reading NumPy .npy arrays -----------------------*- C++ -*-===//
//
// An .npy file (numpy.lib.format, versions 1.0, 2.0 and 3.0) is
//
//   offset 0   "\x93NUMPY"                      the magic
//   offset 6   major, minor                     1.0, 2.0 or 3.0
//   offset 8   header length, little-endian     u16 (1.0) or u32 (2.0, 3.0)
//   offset 10 or 12   the header: a Python dict literal ended by '\n',
//              {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//   then       the elements, in C order (or Fortran order when
//              fortran_order is True), each of the descr's byte order
//
// The reader validates everything: the magic and version; the header's
// syntax and that it has exactly the keys descr, fortran_order and shape;
// the dtype (bool, signed and unsigned integers of 1 to 8 bytes, float16/32/64
// in either byte order; structured, object, string and complex dtypes are
// refused by name); the shape (non-negative dimensions whose product fits);
// and that exactly the bytes the shape describes follow the header. Every
// error names the file and the offset. Files may be gzip-compressed (read
// through ByteStream; offsets are then into the decompressed content).
//
// The result is in C order and host byte order whatever the file's, and
// converts to floats or to integers. Pythons 2's long suffix (`(3L, 4L)`)
// is accepted in shapes, as numpy does.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// The kind of an .npy element: numpy's dtype.kind ('b', 'i', 'u', 'f').
enum class NpyKind { Bool, Int, UInt, Float };

/// A validated .npy array, converted to C order and host byte order.
struct NpyArray {
  /// The file it came from (for messages) and its dtype as written ("<f4").
  std::string path, descr;
  NpyKind kind = NpyKind::Float;
  /// Bytes per element: 1, 2, 4 or 8.
  size_t item_size = 4;
  /// The dimensions; empty for a 0-d (scalar) array.
  std::vector<int64_t> shape;
  /// count() elements of item_size bytes, C order, host byte order.
  std::vector<uint8_t> data;

  /// The number of elements: the product of shape (1 for a scalar).
  int64_t count() const;
  /// "float32", "int64", "uint8", "bool", ...: numpy's dtype name.
  std::string dtype_name() const;
  /// Every element as a float (float64 rounds; integers above 2^24 round;
  /// bool is 0 or 1).
  std::vector<float> to_floats() const;
  /// Every element as an int64. Float dtypes and uint64 values above
  /// INT64_MAX are errors naming the file (and the element's index).
  Expected<std::vector<int64_t>> to_ints() const;
};

/// Parses an .npy file held in memory; `path` names it in errors.
Expected<NpyArray> parse_npy(std::span<const uint8_t> bytes, const std::string &path);

/// Reads and parses an .npy file, plain or gzip-compressed.
Expected<NpyArray> read_npy(const std::string &path);

} // namespace netc::rt
