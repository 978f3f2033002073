//===- ByteStream.h - Plain or gzip file bytes, with offsets ---*- C++ -*-===//
//
// The input of the IDX, .npy and GloVe readers: a file read either as is
// or, when it starts with the gzip magic 0x1f 0x8b, through zlib's inflate.
// It is written on inflate rather than gzread so that an error can say
// exactly where it happened: the decompressed offset (bytes handed out so
// far) and, for a corrupt stream, the compressed offset at which inflate
// stopped. gzread buffers ahead and would report both imprecisely.
//
// Strictness: concatenated gzip members are read as one stream (as gzip -d
// does); anything after the last member that is not another member is an
// error, as is a stream cut short.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>
#include <zlib.h>

namespace netc::rt {

class ByteStream {
public:
  /// `what` names the expected content for open()'s errors ("an IDX file").
  ByteStream(std::string path, const char *what) : path_(std::move(path)), what_(what) {}
  ~ByteStream();
  ByteStream(const ByteStream &) = delete;
  ByteStream &operator=(const ByteStream &) = delete;

  /// Opens the file and sniffs gzip; the Error names a missing file, a
  /// directory ("F: is a directory, not <what>"), or the OS's reason.
  Expected<void> open();
  /// Reads up to n bytes; fewer only at the end of the data or on an error
  /// (then error() says which).
  size_t read(uint8_t *dst, size_t n);
  /// Appends up to n bytes to `out`, growing it a chunk at a time, so that
  /// an n taken from a lying header costs only the bytes really present
  /// (n = UINT64_MAX: the rest of the data). Returns how many it appended.
  uint64_t read_append(std::vector<uint8_t> &out, uint64_t n);
  /// Reads and discards up to n bytes; returns how many there were.
  uint64_t skip(uint64_t n);

  /// Bytes handed out so far: the offset in the (decompressed) content.
  uint64_t offset() const { return offset_; }
  bool is_gzip() const { return gzip_; }
  /// Why the stream stopped early, if it did: a complete message.
  const std::optional<Error> &error() const { return err_; }

private:
  bool fill();
  size_t read_plain(uint8_t *dst, size_t n);
  size_t read_gzip(uint8_t *dst, size_t n);
  void next_member();
  void set_error(const std::string &what);
  /// The compressed offset at which inflate's input stands.
  uint64_t position() const { return file_read_ - z_.avail_in; }

  std::string path_;
  const char *what_;
  FILE *file_ = nullptr;
  std::vector<uint8_t> in_;
  z_stream z_{};
  bool gzip_ = false, inflating_ = false, eof_ = false, done_ = false;
  uint64_t file_read_ = 0, offset_ = 0;
  std::optional<Error> err_;
};

} // namespace netc::rt
