//===- Idx.cpp - Reading and writing IDX files ----------------------------===//
//
// This file implements the IDX reader and writer declared in Idx.h. The
// reader is a straight line of checks over a byte stream: magic, dimensions,
// the size those imply, the data, then nothing after it. Each check that
// fails returns an Error saying where (decompressed offset) and what.
//
//===----------------------------------------------------------------------===//
#include "runtime/Idx.h"

#include "runtime/ByteStream.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

namespace netc::rt {

const char *idx_type_name(IdxType t) {
  switch (t) {
  case IdxType::U8: return "u8";
  case IdxType::I8: return "i8";
  case IdxType::I16: return "i16";
  case IdxType::I32: return "i32";
  case IdxType::F32: return "f32";
  case IdxType::F64: return "f64";
  }
  return "?";
}

size_t idx_type_size(IdxType t) {
  switch (t) {
  case IdxType::U8:
  case IdxType::I8: return 1;
  case IdxType::I16: return 2;
  case IdxType::I32:
  case IdxType::F32: return 4;
  case IdxType::F64: return 8;
  }
  return 0;
}

std::optional<IdxType> idx_type_from_code(uint8_t code) {
  switch (code) {
  case 0x08:
  case 0x09:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x0E: return static_cast<IdxType>(code);
  default: return std::nullopt;
  }
}

int64_t num_elements(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

int64_t IdxFile::example_size() const { return shape.empty() ? 0 : num_elements(std::span(shape).subspan(1)); }
int64_t HostArray::example_size() const { return shape.empty() ? 0 : num_elements(std::span(shape).subspan(1)); }

void HostArray::keep_first(int64_t n) {
  if (n < 0 || n >= count())
    return;
  data.resize(size_t(n * example_size()));
  shape[0] = n;
}

std::string shape_string(std::span<const int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

std::string shape_list(std::span<const int64_t> shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

namespace {

/// The largest rank accepted; real IDX files have 1 to 4 dimensions.
constexpr uint32_t kMaxRank = 8;
/// Bytes per gzwrite call (zlib counts in unsigned int).
constexpr size_t kChunk = size_t(1) << 20;

uint32_t load_u32_be(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// The parsed fixed part of the file: type, dimensions, and data size.
struct Header {
  IdxType type;
  std::vector<int64_t> dims;
  uint64_t bytes_per_example; // element size times num_elements(dims[1:])
  uint64_t data_bytes;        // bytes_per_example times dims[0]
  uint64_t size() const { return 4 + 4 * dims.size(); }
};

/// Checks the 4-byte magic 0x00 0x00 <type> <ndim>.
Expected<void> check_magic(const std::string &path, const uint8_t m[4], bool gzip) {
  uint32_t magic = load_u32_be(m);
  if (m[0] != 0 || m[1] != 0)
    return fail(fmt::format("{}: bad magic 0x{:08x} at offset 0, expected 0x00000803 (u8 images), "
                            "0x00000801 (u8 labels) or another IDX magic 0x0000TTNN; {}",
                            path, magic,
                            gzip ? "the file is gzip, so this is its decompressed content"
                                 : "the file is neither gzip nor IDX"));
  if (!idx_type_from_code(m[2]))
    return fail(fmt::format("{}: unsupported IDX element type 0x{:02x} at offset 2 (magic 0x{:08x}); "
                            "expected 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32 or 0x0E f64",
                            path, m[2], magic));
  if (m[3] == 0 || m[3] > kMaxRank)
    return fail(fmt::format("{}: unsupported dimension count {} at offset 3 (magic 0x{:08x}); "
                            "expected 1 to {}",
                            path, m[3], magic, kMaxRank));
  return {};
}

/// Computes the data size the dimensions imply, refusing overflow.
Expected<void> size_data(const std::string &path, Header &h) {
  uint64_t per = idx_type_size(h.type);
  for (size_t i = 1; i < h.dims.size(); ++i)
    if (__builtin_mul_overflow(per, uint64_t(h.dims[i]), &per))
      per = UINT64_MAX;
  uint64_t total = 0;
  // Sizes must also fit int64 (shapes) and size_t (buffers).
  if (per == UINT64_MAX || __builtin_mul_overflow(per, uint64_t(h.dims[0]), &total) || total > uint64_t(INT64_MAX))
    return fail(fmt::format("{}: dimensions {} of {} at offset 4 describe more than 2^63 bytes of data", path,
                            shape_string(h.dims), idx_type_name(h.type)));
  h.bytes_per_example = per;
  h.data_bytes = total;
  return {};
}

/// Reads and checks the magic and the dimensions.
Expected<Header> read_header(ByteStream &in, const std::string &path) {
  uint8_t m[4];
  size_t got = in.read(m, 4);
  if (in.error())
    return *in.error();
  if (got == 0)
    return fail(fmt::format("{}: empty file; expected a 4-byte IDX magic at offset 0", path));
  if (got < 4)
    return fail(fmt::format("{}: truncated: the 4-byte IDX magic at offset 0 has only {} bytes", path, got));
  if (auto ok = check_magic(path, m, in.is_gzip()); !ok)
    return Error{ok.error()};

  Header h{static_cast<IdxType>(m[2]), {}, 0, 0};
  std::vector<uint8_t> raw(4 * size_t(m[3]));
  got = in.read(raw.data(), raw.size());
  if (in.error())
    return *in.error();
  if (got < raw.size())
    return fail(fmt::format("{}: truncated: the header needs {} dimensions ({} bytes at offset 4), found {} bytes",
                            path, m[3], raw.size(), got));
  for (size_t i = 0; i < m[3]; ++i) {
    uint32_t d = load_u32_be(&raw[4 * i]);
    if (d == 0)
      return fail(
          fmt::format("{}: dimension {} is 0 at offset {}; IDX dimensions must be positive", path, i, 4 + 4 * i));
    h.dims.push_back(d);
  }
  if (auto ok = size_data(path, h); !ok)
    return Error{ok.error()};
  return h;
}

/// Reads the data (keeping the first `keep_examples`) and checks that exactly
/// h.data_bytes follow the header.
Expected<void> read_data(ByteStream &in, const std::string &path, const Header &h, uint64_t keep_examples,
                         std::vector<uint8_t> &out) {
  uint64_t keep = keep_examples * h.bytes_per_example;
  out.reserve(static_cast<size_t>(std::min<uint64_t>(keep, uint64_t(64) << 20)));
  uint64_t found = in.read_append(out, keep);
  if (found == keep)
    found += in.skip(h.data_bytes - keep);
  if (in.error())
    return *in.error();
  if (found < h.data_bytes)
    return fail(fmt::format("{}: truncated: expected {} data bytes after the {}-byte header, found {} "
                            "(dimensions {} of {})",
                            path, h.data_bytes, h.size(), found, shape_string(h.dims), idx_type_name(h.type)));
  uint64_t extra = in.skip(UINT64_MAX);
  if (in.error())
    return *in.error();
  if (extra > 0)
    return fail(fmt::format("{}: trailing garbage: {} bytes at offset {}, after the {} data bytes that "
                            "dimensions {} of {} describe",
                            path, extra, h.size() + h.data_bytes, h.data_bytes, shape_string(h.dims),
                            idx_type_name(h.type)));
  return {};
}

} // namespace

Expected<IdxFile> read_idx(const std::string &path, std::optional<int64_t> limit) {
  ByteStream in(path, "an IDX file");
  if (auto ok = in.open(); !ok)
    return Error{ok.error()};
  auto h = read_header(in, path);
  if (!h)
    return Error{h.error()};
  uint64_t keep = uint64_t(h->dims[0]);
  if (limit && *limit >= 0)
    keep = std::min(keep, uint64_t(*limit));
  IdxFile f{path, h->type, h->dims, h->dims[0], {}};
  if (auto ok = read_data(in, path, *h, keep, f.data); !ok)
    return Error{ok.error()};
  f.shape[0] = int64_t(keep);
  return f;
}

//===----------------------------------------------------------------------===//
// Element conversion
//===----------------------------------------------------------------------===//

namespace {

template <size_t N> struct UIntOf;
template <> struct UIntOf<1> { using type = uint8_t; };
template <> struct UIntOf<2> { using type = uint16_t; };
template <> struct UIntOf<4> { using type = uint32_t; };
template <> struct UIntOf<8> { using type = uint64_t; };

/// Loads one big-endian T (integer or IEEE float).
template <class T> T load_be(const uint8_t *p) {
  using U = typename UIntOf<sizeof(T)>::type;
  U u = 0;
  for (size_t k = 0; k < sizeof(T); ++k)
    u = static_cast<U>((u << 8) | p[k]);
  return std::bit_cast<T>(u);
}

/// Stores one T big-endian.
template <class T> void store_be(T v, uint8_t *p) {
  using U = typename UIntOf<sizeof(T)>::type;
  U u = std::bit_cast<U>(v);
  for (size_t k = sizeof(T); k-- > 0;) {
    p[k] = static_cast<uint8_t>(u & 0xFF);
    u = static_cast<U>(u >> 8);
  }
}

template <class T, class Out> void decode_as(const std::vector<uint8_t> &in, Out *out, double scale) {
  size_t n = in.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<Out>(static_cast<double>(load_be<T>(&in[i * sizeof(T)])) * scale);
}

/// Decodes every element of `f` into `out`, multiplied by `scale`.
template <class Out> void decode(const IdxFile &f, Out *out, double scale) {
  switch (f.type) {
  case IdxType::U8: return decode_as<uint8_t>(f.data, out, scale);
  case IdxType::I8: return decode_as<int8_t>(f.data, out, scale);
  case IdxType::I16: return decode_as<int16_t>(f.data, out, scale);
  case IdxType::I32: return decode_as<int32_t>(f.data, out, scale);
  case IdxType::F32: return decode_as<float>(f.data, out, scale);
  case IdxType::F64: return decode_as<double>(f.data, out, scale);
  }
}

template <class T> void encode_as(std::span<const double> values, uint8_t *out) {
  for (size_t i = 0; i < values.size(); ++i)
    store_be<T>(static_cast<T>(values[i]), out + i * sizeof(T));
}

} // namespace

HostArray idx_to_floats(const IdxFile &f, bool scale_u8) {
  HostArray a{f.shape, std::vector<float>(f.data.size() / idx_type_size(f.type))};
  double scale = (scale_u8 && f.type == IdxType::U8) ? 1.0 / 255.0 : 1.0;
  decode(f, a.data.data(), scale);
  return a;
}

Expected<std::vector<int32_t>> idx_to_labels(const IdxFile &f) {
  if (f.type == IdxType::F32 || f.type == IdxType::F64)
    return fail(fmt::format("{}: labels are {}; expected an integer IDX type (u8, i8, i16 or i32)", f.path,
                            idx_type_name(f.type)));
  if (f.shape.size() != 1)
    return fail(fmt::format("{}: labels have shape {}; expected rank 1 (one label per example)", f.path,
                            shape_string(f.shape)));
  std::vector<int32_t> labels(static_cast<size_t>(f.shape[0]));
  decode(f, labels.data(), 1.0);
  return labels;
}

Expected<HostArray> load_idx_floats(const std::string &path, bool scale_u8, std::optional<int64_t> limit) {
  auto f = read_idx(path, limit);
  if (!f)
    return Error{f.error()};
  return idx_to_floats(*f, scale_u8);
}

Expected<std::vector<int32_t>> load_idx_labels(const std::string &path, std::optional<int64_t> limit) {
  auto f = read_idx(path, limit);
  if (!f)
    return Error{f.error()};
  return idx_to_labels(*f);
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::vector<uint8_t> encode_idx(IdxType type, std::span<const int64_t> shape, std::span<const double> values) {
  assert(!shape.empty() && shape.size() <= kMaxRank && "encode_idx: rank 1 to 8");
  assert(int64_t(values.size()) == num_elements(shape) && "encode_idx: values do not match the shape");
  size_t header = 4 + 4 * shape.size();
  std::vector<uint8_t> out(header + values.size() * idx_type_size(type));
  out[2] = static_cast<uint8_t>(type);
  out[3] = static_cast<uint8_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    store_be<uint32_t>(static_cast<uint32_t>(shape[i]), &out[4 + 4 * i]);
  uint8_t *data = out.data() + header;
  switch (type) {
  case IdxType::U8: encode_as<uint8_t>(values, data); break;
  case IdxType::I8: encode_as<int8_t>(values, data); break;
  case IdxType::I16: encode_as<int16_t>(values, data); break;
  case IdxType::I32: encode_as<int32_t>(values, data); break;
  case IdxType::F32: encode_as<float>(values, data); break;
  case IdxType::F64: encode_as<double>(values, data); break;
  }
  return out;
}

Expected<void> write_file_bytes(const std::string &path, std::span<const uint8_t> bytes, bool gzip) {
  // "T" asks zlib for a transparent (uncompressed) write: one code path.
  gzFile f = gzopen(path.c_str(), gzip ? "wb6" : "wbT");
  if (!f)
    return fail(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    unsigned n = static_cast<unsigned>(std::min(bytes.size() - done, kChunk));
    if (gzwrite(f, bytes.data() + done, n) != int(n))
      break;
    done += n;
  }
  int closed = gzclose(f);
  if (done < bytes.size() || closed != Z_OK)
    return fail(fmt::format("{}: write failed after {} of {} bytes", path, done, bytes.size()));
  return {};
}

Expected<void> write_idx(const std::string &path, IdxType type, std::span<const int64_t> shape,
                         std::span<const double> values, bool gzip) {
  return write_file_bytes(path, encode_idx(type, shape, values), gzip);
}

} // namespace netc::rt
