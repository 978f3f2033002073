//===- Npy.cpp - Reading NumPy .npy arrays --------------------------------===//
//
// This file implements the .npy reader declared in Npy.h: the fixed prefix,
// a small parser for the header's Python dict literal (only what numpy
// writes: strings, True/False and tuples of integers), dtype and shape
// checks, then the data, byte-swapped and transposed to C order as needed.
//
//===----------------------------------------------------------------------===//
#include "runtime/Npy.h"

#include "runtime/ByteStream.h"
#include "runtime/Idx.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>
#include <optional>
#include <type_traits>

namespace netc::rt {

namespace {

/// Most dimensions accepted (numpy's own limit is 32).
constexpr size_t kMaxRank = 32;

/// A header value: a string, a bool or a tuple of integers.
struct PyValue {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string text;
  bool flag = false;
  std::vector<int64_t> ints;
  size_t offset = 0; // in the file
};

/// Parses the header dict; offsets in errors are file offsets (`base` is
/// where the header starts).
class HeaderParser {
public:
  HeaderParser(std::string_view text, size_t base, const std::string &path) : s_(text), base_(base), path_(path) {}

  // dict = "{" [ item { "," item } [ "," ] ] "}"    item = string ":" value
  Expected<std::vector<std::pair<PyValue, PyValue>>> dict() {
    std::vector<std::pair<PyValue, PyValue>> items;
    skip_space();
    if (!eat('{'))
      return error("expected '{' to open the header dict");
    for (;;) {
      skip_space();
      if (eat('}'))
        break;
      Expected<PyValue> key = string();
      if (!key)
        return Error{key.error()};
      skip_space();
      if (!eat(':'))
        return error(fmt::format("expected ':' after the key '{}'", key->text));
      Expected<PyValue> value = this->value();
      if (!value)
        return Error{value.error()};
      items.emplace_back(std::move(*key), std::move(*value));
      skip_space();
      if (eat('}'))
        break;
      if (!eat(','))
        return error("expected ',' or '}' in the header dict");
    }
    skip_space();
    if (pos_ != s_.size())
      return error("unexpected text after the header dict");
    return items;
  }

private:
  Error error(const std::string &what) const {
    std::string found = pos_ < s_.size() ? fmt::format("'{}'", s_[pos_]) : std::string("the end of the header");
    return fail(fmt::format("{}: bad .npy header at offset {}: {}, found {}", path_, base_ + pos_, what, found));
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n'))
      ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w)
      return false;
    pos_ += w.size();
    return true;
  }

  // string = "'" chars "'" | '"' chars '"'   (no escapes: numpy writes none)
  Expected<PyValue> string() {
    PyValue v{PyValue::String, {}, false, {}, base_ + pos_};
    char q = pos_ < s_.size() ? s_[pos_] : 0;
    if (q != '\'' && q != '"')
      return error("expected a quoted string");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos)
      return error("unterminated string");
    v.text = std::string(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return v;
  }

  // value = string | "True" | "False" | tuple
  Expected<PyValue> value() {
    skip_space();
    size_t at = base_ + pos_;
    if (eat_word("True") || eat_word("False"))
      return PyValue{PyValue::Bool, {}, s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u', {}, at};
    if (pos_ < s_.size() && s_[pos_] == '[') // only a structured dtype is a list
      return fail(fmt::format("{}: offset {}: a structured (record) dtype; only plain numeric arrays are supported",
                              path_, at));
    if (eat('('))
      return tuple(at);
    return string();
  }

  // tuple = "(" [ int { "," int } [ "," ] ] ")"    int = digits [ "L" ]
  Expected<PyValue> tuple(size_t at) {
    PyValue v{PyValue::Tuple, {}, false, {}, at};
    for (;;) {
      skip_space();
      if (eat(')'))
        return v;
      size_t start = pos_;
      uint64_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (n > uint64_t(std::numeric_limits<int64_t>::max() - 9) / 10)
          return error("dimension too large");
        n = n * 10 + uint64_t(s_[pos_++] - '0');
      }
      if (pos_ == start)
        return error("expected a non-negative integer dimension in the shape");
      eat('L');
      v.ints.push_back(int64_t(n));
      skip_space();
      if (eat(')'))
        return v;
      if (!eat(','))
        return error("expected ',' or ')' in the shape");
    }
  }

  std::string_view s_;
  size_t base_, pos_ = 0;
  const std::string &path_;
};

/// Checks a descr such as "<f4", "|u1", ">i8" and fills kind, size and
/// whether the file's bytes need swapping.
Expected<bool> parse_descr(const PyValue &v, NpyArray &a) {
  const std::string &d = v.text;
  std::string where = fmt::format("{}: offset {}: dtype", a.path, v.offset);
  if (v.kind != PyValue::String)
    return fail(where + " (`descr`) must be a string such as '<f4'");
  if (d.size() < 2 || std::string_view("<>|=").find(d[0]) == std::string_view::npos)
    return fail(fmt::format("{} '{}' must start with a byte order ('<', '>', '|' or '=')", where, d));
  char kind = d[1];
  std::string size_text = d.substr(2);
  int size = 0;
  for (char ch : size_text)
    size = ch >= '0' && ch <= '9' && size < 100 ? size * 10 + (ch - '0') : 1000;
  if (kind == 'O')
    return fail(fmt::format("{} '{}' is object (pickled Python objects); save a numeric array instead", where, d));
  if (kind == 'c')
    return fail(fmt::format("{} '{}' is complex; only bool, integer and float arrays are supported", where, d));
  if (kind == 'S' || kind == 'U' || kind == 'a' || kind == 'V' || kind == 'M' || kind == 'm')
    return fail(fmt::format("{} '{}' is not numeric; only bool, integer and float arrays are supported", where, d));
  bool ok_size = size_text.size() == 1 && (size == 1 || size == 2 || size == 4 || size == 8);
  switch (kind) {
  case 'b': a.kind = NpyKind::Bool, ok_size = ok_size && size == 1; break;
  case 'i': a.kind = NpyKind::Int; break;
  case 'u': a.kind = NpyKind::UInt; break;
  case 'f': a.kind = NpyKind::Float, ok_size = ok_size && size >= 2; break;
  default:
    return fail(fmt::format("{} '{}' has unknown kind '{}'; expected b (bool), i, u (integers) or f (floats)", where,
                            d, kind));
  }
  if (!ok_size)
    return fail(fmt::format("{} '{}' has an unsupported size; expected b1, i1/i2/i4/i8, u1/u2/u4/u8 or f2/f4/f8",
                            where, d));
  a.item_size = size_t(size);
  a.descr = d;
  bool big = d[0] == '>' || (d[0] == '=' && std::endian::native == std::endian::big);
  if (d[0] == '|' && size != 1)
    return fail(fmt::format("{} '{}': '|' (not applicable) is only valid for 1-byte types", where, d));
  return size > 1 && big != (std::endian::native == std::endian::big);
}

/// float16 bits to float (IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa).
float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0) { // zero or subnormal: man * 2^-24
    float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31)
    return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

/// Loads element i of `a` as T (the host-order bytes reinterpreted).
template <class T> T load(const NpyArray &a, size_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

/// Converts Fortran-order `data` (shape `shape`) to C order.
std::vector<uint8_t> fortran_to_c(const std::vector<uint8_t> &data, const std::vector<int64_t> &shape, size_t item) {
  std::vector<uint8_t> out(data.size());
  size_t n = data.size() / std::max<size_t>(item, 1), rank = shape.size();
  std::vector<int64_t> idx(rank, 0);
  for (size_t c = 0; c < n; ++c) {
    // idx is element c's multi-index (C order); its Fortran offset has the
    // first dimension fastest.
    size_t f = 0, stride = 1;
    for (size_t k = 0; k < rank; ++k) {
      f += size_t(idx[k]) * stride;
      stride *= size_t(shape[k]);
    }
    std::memcpy(out.data() + c * item, data.data() + f * item, item);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
  return out;
}

} // namespace

int64_t NpyArray::count() const { return num_elements(shape); }

std::string NpyArray::dtype_name() const {
  switch (kind) {
  case NpyKind::Bool: return "bool";
  case NpyKind::Int: return fmt::format("int{}", 8 * item_size);
  case NpyKind::UInt: return fmt::format("uint{}", 8 * item_size);
  case NpyKind::Float: return fmt::format("float{}", 8 * item_size);
  }
  return "?";
}

namespace {

/// Calls f(i, v) for every element i, with v of the element's C++ type
/// (bool as uint8_t 0 or 1, float16 widened to float).
template <class F> void visit_elements(const NpyArray &a, F &&f) {
  size_t n = size_t(a.count());
  auto each = [&](auto tag) {
    for (size_t i = 0; i < n; ++i)
      f(i, load<decltype(tag)>(a, i));
  };
  switch (a.kind) {
  case NpyKind::Bool:
    for (size_t i = 0; i < n; ++i)
      f(i, uint8_t(a.data[i] != 0));
    return;
  case NpyKind::Float:
    if (a.item_size == 2)
      for (size_t i = 0; i < n; ++i)
        f(i, half_to_float(load<uint16_t>(a, i)));
    return a.item_size == 4 ? each(float{}) : a.item_size == 8 ? each(double{}) : void();
  case NpyKind::Int:
    return a.item_size == 1   ? each(int8_t{})
           : a.item_size == 2 ? each(int16_t{})
           : a.item_size == 4 ? each(int32_t{})
                              : each(int64_t{});
  case NpyKind::UInt:
    return a.item_size == 1   ? each(uint8_t{})
           : a.item_size == 2 ? each(uint16_t{})
           : a.item_size == 4 ? each(uint32_t{})
                              : each(uint64_t{});
  }
}

} // namespace

std::vector<float> NpyArray::to_floats() const {
  std::vector<float> out(static_cast<size_t>(count()));
  visit_elements(*this, [&](size_t i, auto v) { out[i] = float(v); });
  return out;
}

Expected<std::vector<int64_t>> NpyArray::to_ints() const {
  if (kind == NpyKind::Float)
    return fail(fmt::format("{}: dtype {} ('{}'); expected an integer array", path, dtype_name(), descr));
  std::vector<int64_t> out(static_cast<size_t>(count()));
  std::optional<size_t> too_big;
  visit_elements(*this, [&](size_t i, auto v) {
    if constexpr (std::is_same_v<decltype(v), uint64_t>)
      if (v > uint64_t(std::numeric_limits<int64_t>::max()) && !too_big)
        too_big = i;
    out[i] = int64_t(v);
  });
  if (too_big)
    return fail(fmt::format("{}: element {} is {}, beyond int64", path, *too_big, load<uint64_t>(*this, *too_big)));
  return out;
}

Expected<NpyArray> parse_npy(std::span<const uint8_t> bytes, const std::string &path) {
  NpyArray a;
  a.path = path;
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10)
    return fail(fmt::format("{}: truncated: {} bytes, but an .npy file starts with a 10-byte prefix "
                            "(magic \\x93NUMPY, version, header length) at offset 0",
                            path, bytes.size()));
  if (!std::equal(kMagic, kMagic + 6, bytes.begin()))
    return fail(fmt::format("{}: not an .npy file: bad magic at offset 0 (expected \\x93NUMPY)", path));
  uint8_t major = bytes[6], minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return fail(fmt::format("{}: unsupported .npy version {}.{} at offset 6; expected 1.0, 2.0 or 3.0", path, major,
                            minor));
  size_t base = major == 1 ? 10 : 12;
  if (bytes.size() < base)
    return fail(fmt::format("{}: truncated: version {}.0 needs a 4-byte header length at offset 8", path, major));
  uint64_t hlen = bytes[8] | (uint64_t(bytes[9]) << 8);
  if (major > 1)
    hlen |= (uint64_t(bytes[10]) << 16) | (uint64_t(bytes[11]) << 24);
  if (hlen > bytes.size() - base)
    return fail(fmt::format("{}: truncated: the header length at offset 8 is {} bytes, but only {} follow offset {}",
                            path, hlen, bytes.size() - base, base));
  std::string_view text(reinterpret_cast<const char *>(bytes.data()) + base, size_t(hlen));
  if (text.empty() || text.back() != '\n')
    return fail(fmt::format("{}: bad .npy header at offset {}: the header must end with '\\n'", path,
                            base + (text.empty() ? 0 : text.size() - 1)));
  Expected<std::vector<std::pair<PyValue, PyValue>>> items = HeaderParser(text, base, path).dict();
  if (!items)
    return Error{items.error()};

  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const auto &[key, value] : *items) {
    const PyValue **slot = key.text == "descr"           ? &descr
                           : key.text == "fortran_order" ? &fortran
                           : key.text == "shape"         ? &shape
                                                         : nullptr;
    if (!slot)
      return fail(fmt::format("{}: bad .npy header at offset {}: unknown key '{}'; expected descr, fortran_order "
                              "and shape",
                              path, key.offset, key.text));
    if (*slot)
      return fail(fmt::format("{}: bad .npy header at offset {}: key '{}' given twice", path, key.offset, key.text));
    *slot = &value;
  }
  for (auto [name, v] : {std::pair{"descr", descr}, {"fortran_order", fortran}, {"shape", shape}})
    if (!v)
      return fail(fmt::format("{}: bad .npy header at offset {}: no '{}' key", path, base, name));
  Expected<bool> swap = parse_descr(*descr, a);
  if (!swap)
    return Error{swap.error()};
  if (fortran->kind != PyValue::Bool)
    return fail(fmt::format("{}: bad .npy header at offset {}: fortran_order must be True or False", path,
                            fortran->offset));
  if (shape->kind != PyValue::Tuple)
    return fail(fmt::format("{}: bad .npy header at offset {}: shape must be a tuple of integers such as (2, 3)",
                            path, shape->offset));
  if (shape->ints.size() > kMaxRank)
    return fail(fmt::format("{}: offset {}: shape has {} dimensions; at most {} are supported", path, shape->offset,
                            shape->ints.size(), kMaxRank));
  a.shape = shape->ints;
  uint64_t total = a.item_size;
  for (int64_t d : a.shape)
    if (__builtin_mul_overflow(total, uint64_t(d), &total) || total > (uint64_t(1) << 48))
      return fail(fmt::format("{}: offset {}: shape ({}) of {} describes more than 2^48 bytes", path, shape->offset,
                              fmt::join(a.shape, ", "), a.dtype_name()));
  size_t begin = base + size_t(hlen), have = bytes.size() - begin;
  if (have < total)
    return fail(fmt::format("{}: truncated: shape ({}) of {} needs {} data bytes at offset {}, found {}", path,
                            fmt::join(a.shape, ", "), a.dtype_name(), total, begin, have));
  if (have > total)
    return fail(fmt::format("{}: trailing garbage: {} bytes at offset {}, after the {} data bytes that shape ({}) of "
                            "{} describes",
                            path, have - total, begin + total, total, fmt::join(a.shape, ", "), a.dtype_name()));
  a.data.assign(bytes.begin() + std::ptrdiff_t(begin), bytes.end());
  if (*swap)
    for (size_t i = 0; i < a.data.size(); i += a.item_size)
      std::reverse(a.data.begin() + std::ptrdiff_t(i), a.data.begin() + std::ptrdiff_t(i + a.item_size));
  if (fortran->flag && a.shape.size() > 1)
    a.data = fortran_to_c(a.data, a.shape, a.item_size);
  return a;
}

Expected<NpyArray> read_npy(const std::string &path) {
  ByteStream in(path, "an .npy file");
  if (Expected<void> ok = in.open(); !ok)
    return Error{ok.error()};
  std::vector<uint8_t> bytes;
  in.read_append(bytes, UINT64_MAX);
  if (in.error())
    return *in.error();
  return parse_npy(bytes, path);
}

} // namespace netc::rt
