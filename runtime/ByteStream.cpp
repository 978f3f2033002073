//===- ByteStream.cpp - Plain or gzip file bytes, with offsets ------------===//
//
// This file implements ByteStream: a buffered file reader whose buffer is
// also inflate's input (z_.next_in / z_.avail_in), for plain files too, so
// both modes share one refill path.
//
//===----------------------------------------------------------------------===//
#include "runtime/ByteStream.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

namespace netc::rt {

namespace {
constexpr size_t kInputBuffer = size_t(1) << 18;
/// Bytes per read_append step.
constexpr size_t kAppendChunk = size_t(1) << 20;
/// inflate counts in uInt; stay well inside it.
constexpr size_t kMaxInflate = size_t(1) << 30;
} // namespace

ByteStream::~ByteStream() {
  if (inflating_)
    inflateEnd(&z_);
  if (file_)
    std::fclose(file_);
}

Expected<void> ByteStream::open() {
  std::error_code ec;
  auto st = std::filesystem::status(path_, ec);
  if (!std::filesystem::exists(st))
    return fail(fmt::format("{}: no such file", path_));
  if (std::filesystem::is_directory(st))
    return fail(fmt::format("{}: is a directory, not {}", path_, what_));
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_)
    return fail(fmt::format("{}: cannot open: {}", path_, std::strerror(errno)));
  in_.resize(kInputBuffer);
  z_.next_in = in_.data();
  fill();
  if (err_)
    return *err_;
  gzip_ = z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b;
  if (gzip_) {
    // 15 + 16: a 32 KiB window and a gzip (not zlib) wrapper.
    if (inflateInit2(&z_, 15 + 16) != Z_OK)
      return fail(fmt::format("{}: cannot start zlib: {}", path_, z_.msg ? z_.msg : "out of memory"));
    inflating_ = true;
  }
  return {};
}

/// Moves unread input to the front of the buffer and reads more after it.
/// Returns false when nothing more could be read.
bool ByteStream::fill() {
  if (eof_ || err_)
    return false;
  std::memmove(in_.data(), z_.next_in, z_.avail_in);
  size_t got = std::fread(in_.data() + z_.avail_in, 1, in_.size() - z_.avail_in, file_);
  if (got == 0 && std::ferror(file_))
    set_error(fmt::format("read error at offset {}: {}", file_read_, std::strerror(errno)));
  if (got == 0) {
    eof_ = true;
    z_.next_in = in_.data();
    return false;
  }
  file_read_ += got;
  z_.next_in = in_.data();
  z_.avail_in += static_cast<uInt>(got);
  return true;
}

void ByteStream::set_error(const std::string &what) {
  if (!err_)
    err_ = fail(fmt::format("{}: {}", path_, what));
}

size_t ByteStream::read(uint8_t *dst, size_t n) {
  size_t got = gzip_ ? read_gzip(dst, n) : read_plain(dst, n);
  offset_ += got;
  return got;
}

size_t ByteStream::read_plain(uint8_t *dst, size_t n) {
  size_t got = 0;
  while (got < n && (z_.avail_in > 0 || fill())) {
    size_t take = std::min<size_t>(n - got, z_.avail_in);
    std::memcpy(dst + got, z_.next_in, take);
    z_.next_in += take;
    z_.avail_in -= static_cast<uInt>(take);
    got += take;
  }
  return got;
}

size_t ByteStream::read_gzip(uint8_t *dst, size_t n) {
  size_t got = 0;
  while (got < n && !done_ && !err_) {
    if (z_.avail_in == 0 && !fill()) {
      set_error(fmt::format("corrupt gzip stream: the compressed data ends at offset {} in the middle of the "
                            "stream (decompressed offset {}); the file is cut short",
                            file_read_, offset_ + got));
      break;
    }
    uInt want = static_cast<uInt>(std::min(n - got, kMaxInflate));
    z_.next_out = dst + got;
    z_.avail_out = want;
    int r = inflate(&z_, Z_NO_FLUSH);
    got += want - z_.avail_out;
    if (r == Z_STREAM_END)
      next_member();
    else if (r != Z_OK && r != Z_BUF_ERROR) // Z_BUF_ERROR: needs more input
      set_error(fmt::format("corrupt gzip stream at compressed offset {} (decompressed offset {}): {}", position(),
                            offset_ + got, z_.msg ? z_.msg : zError(r)));
  }
  return got;
}

/// After a gzip member ends: stop at the end of the file, go on into a
/// following member, and refuse anything else.
void ByteStream::next_member() {
  if (z_.avail_in < 2)
    fill();
  if (z_.avail_in == 0) {
    done_ = true;
    return;
  }
  if (z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b) {
    inflateReset(&z_);
    return;
  }
  done_ = true;
  set_error(fmt::format("trailing garbage after the gzip stream at compressed offset {}", position()));
}

uint64_t ByteStream::read_append(std::vector<uint8_t> &out, uint64_t n) {
  uint64_t total = 0;
  while (total < n) {
    size_t old = out.size();
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - total, kAppendChunk));
    out.resize(old + want);
    size_t got = read(out.data() + old, want);
    out.resize(old + got);
    total += got;
    if (got < want)
      break;
  }
  return total;
}

uint64_t ByteStream::skip(uint64_t n) {
  std::vector<uint8_t> sink(static_cast<size_t>(std::min<uint64_t>(n, uint64_t(1) << 20)));
  uint64_t total = 0;
  while (total < n) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - total, sink.size()));
    size_t got = read(sink.data(), want);
    total += got;
    if (got < want)
      break;
  }
  return total;
}

} // namespace netc::rt
