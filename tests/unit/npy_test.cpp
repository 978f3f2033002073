//===- npy_test.cpp - The .npy reader -------------------------------------===//
//
// Unit tests for runtime/Npy.h: files exactly as numpy 1.24 writes them
// (byte strings copied from np.save), every dtype the reader converts, byte
// order and Fortran order, versions 1.0 and 2.0, gzip, and one test per
// malformed header or data with its exact message and offset.
//
//===----------------------------------------------------------------------===//
#include "runtime/Idx.h"
#include "runtime/Npy.h"
#include "runtime/trainer/Loop.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

using namespace netc::rt;

namespace {

/// An .npy file (version `major`.0) with this header dict and data bytes,
/// padded as numpy pads: the data starts at a multiple of 64.
std::vector<uint8_t> npy_bytes(std::string dict, const std::vector<uint8_t> &data, int major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(uint8_t(dict.size() >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string npy_error(const std::vector<uint8_t> &bytes) {
  Expected<NpyArray> a = parse_npy(bytes, "x.npy");
  return a ? std::string() : a.error();
}

const char *kF4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
const std::vector<uint8_t> kSixFloats(24, 0);

} // namespace

TEST_CASE("npy: a big-endian int16 file as np.save writes it", "[npy]") {
  // np.save(b, np.array([[1, 2, 3], [4, 5, 6]], dtype='>i2'))
  std::string header = "{'descr': '>i2', 'fortran_order': False, 'shape': (2, 3), }";
  header.append(117 - header.size(), ' ');
  header += '\n';
  std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 'v', 0};
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (uint8_t v : {1, 2, 3, 4, 5, 6})
    bytes.insert(bytes.end(), {0, v});
  Expected<NpyArray> a = parse_npy(bytes, "x.npy");
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(a->dtype_name() == "int16");
  CHECK(a->to_floats() == std::vector<float>{1, 2, 3, 4, 5, 6});
  Expected<std::vector<int64_t>> ints = a->to_ints();
  REQUIRE(ints);
  CHECK(*ints == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("npy: Fortran order is transposed to C order", "[npy]") {
  // np.asfortranarray([[1, 2, 3], [4, 5, 6]]) stores columns: 1 4 2 5 3 6.
  std::vector<uint8_t> data;
  for (float v : {1.f, 4.f, 2.f, 5.f, 3.f, 6.f}) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    data.insert(data.end(), b, b + 4);
  }
  Expected<NpyArray> a = parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data),
                                   "x.npy");
  REQUIRE(a);
  CHECK(a->to_floats() == std::vector<float>{1, 2, 3, 4, 5, 6});
  // Rank 3: element [i][j][k] of shape (2, 2, 2) sits at i + 2j + 4k in Fortran order.
  std::vector<uint8_t> f8 = {0, 4, 2, 6, 1, 5, 3, 7};
  Expected<NpyArray> b = parse_npy(npy_bytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 2), }", f8),
                                   "x.npy");
  REQUIRE(b);
  CHECK(b->to_floats() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("npy: every dtype converts", "[npy]") {
  SECTION("float32 from the trainer's own writer") {
    Predictions p{{2, 2}, {0.5f, -1.25f, 3e-8f, 65504.f}};
    Expected<NpyArray> a = parse_npy(encode_npy(p), "p.npy");
    REQUIRE(a);
    CHECK(a->shape == p.shape);
    CHECK(a->to_floats() == p.values);
    CHECK(a->to_ints().error() == "p.npy: dtype float32 ('<f4'); expected an integer array");
  }
  SECTION("float16, including a subnormal and infinity") {
    std::vector<uint8_t> d = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c};
    Expected<NpyArray> a = parse_npy(npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", d), "h");
    REQUIRE(a);
    std::vector<float> f = a->to_floats();
    CHECK(f[0] == 1.0f);
    CHECK(f[1] == -2.0f);
    CHECK(f[2] == 65504.0f);
    CHECK(f[3] == std::ldexp(1.0f, -24));
    CHECK(std::isinf(f[4]));
  }
  SECTION("float64, big-endian") {
    std::vector<uint8_t> d = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0}; // 1.5
    Expected<NpyArray> a = parse_npy(npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (), }", d), "d");
    REQUIRE(a);
    CHECK(a->shape.empty());
    CHECK(a->count() == 1);
    CHECK(a->to_floats() == std::vector<float>{1.5f});
  }
  SECTION("bool, int8, uint64 and int64") {
    Expected<NpyArray> b =
        parse_npy(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", {1, 0, 2}), "b");
    REQUIRE(b);
    CHECK(b->to_floats() == std::vector<float>{1, 0, 1});
    Expected<NpyArray> i =
        parse_npy(npy_bytes("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", {0xff, 7}), "i");
    REQUIRE(i);
    CHECK(*i->to_ints() == std::vector<int64_t>{-1, 7});
    std::vector<uint8_t> big(8, 0xff);
    Expected<NpyArray> u = parse_npy(npy_bytes("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", big), "u");
    REQUIRE(u);
    CHECK(u->to_ints().error() == "u: element 0 is 18446744073709551615, beyond int64");
    Expected<NpyArray> l = parse_npy(npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1L,), }", big), "l");
    REQUIRE(l);
    CHECK(*l->to_ints() == std::vector<int64_t>{-1});
  }
  SECTION("version 2.0, double quotes, no trailing comma, empty arrays") {
    Expected<NpyArray> a = parse_npy(
        npy_bytes("{\"descr\": \"<f4\", \"shape\": (0, 3), \"fortran_order\": False}", {}, 2), "v2");
    REQUIRE(a);
    CHECK(a->shape == std::vector<int64_t>{0, 3});
    CHECK(a->count() == 0);
  }
}

TEST_CASE("npy: gzip-compressed files read through the same reader", "[npy]") {
  std::string path = (std::filesystem::temp_directory_path() / fmt::format("netc-npy-{}.npy.gz", ::getpid())).string();
  Predictions p{{3}, {1, 2, 3}};
  REQUIRE(write_file_bytes(path, encode_npy(p), true));
  Expected<NpyArray> a = read_npy(path);
  std::filesystem::remove(path);
  REQUIRE(a);
  CHECK(a->to_floats() == p.values);
  CHECK(read_npy("/nonexistent/x.npy").error().find("/nonexistent/x.npy") == 0);
  std::string dir = std::filesystem::temp_directory_path().string();
  CHECK(read_npy(dir).error() == dir + ": is a directory, not an .npy file");
}

TEST_CASE("npy: each malformed file is an error with its offset", "[npy]") {
  std::vector<uint8_t> good = npy_bytes(kF4, kSixFloats);
  REQUIRE(npy_error(good).empty());

  std::vector<uint8_t> b = good;
  b[1] = 'X';
  CHECK(npy_error(b) == "x.npy: not an .npy file: bad magic at offset 0 (expected \\x93NUMPY)");
  CHECK(npy_error({0x93, 'N', 'U'}) == "x.npy: truncated: 3 bytes, but an .npy file starts with a 10-byte prefix "
                                      "(magic \\x93NUMPY, version, header length) at offset 0");
  b = good;
  b[6] = 4;
  CHECK(npy_error(b) == "x.npy: unsupported .npy version 4.0 at offset 6; expected 1.0, 2.0 or 3.0");
  b = good;
  b[9] = 0x10;
  CHECK(npy_error(b) == "x.npy: truncated: the header length at offset 8 is 4214 bytes, but only 142 follow offset 10");
  b = good;
  b[127] = ' ';
  CHECK(npy_error(b) == "x.npy: bad .npy header at offset 127: the header must end with '\\n'");

  CHECK(npy_error(npy_bytes("['descr']", {})) ==
        "x.npy: bad .npy header at offset 10: expected '{' to open the header dict, found '['");
  CHECK(npy_error(npy_bytes("{'descr': '<f4' 'shape': (2,)}", {})) ==
        "x.npy: bad .npy header at offset 26: expected ',' or '}' in the header dict, found '''");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", {})) ==
        "x.npy: bad .npy header at offset 64: expected a non-negative integer dimension in the shape, found '-'");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': ''}", {})) ==
        "x.npy: bad .npy header at offset 68: unknown key 'x'; expected descr, fortran_order and shape");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'descr': '<f4'}", {})) ==
        "x.npy: bad .npy header at offset 51: key 'descr' given twice");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False}", {})) ==
        "x.npy: bad .npy header at offset 10: no 'shape' key");
  CHECK(npy_error(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: a structured (record) dtype; only plain numeric arrays are supported");
  CHECK(npy_error(npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: dtype '|O' is object (pickled Python objects); save a numeric array instead");
  CHECK(npy_error(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: dtype '<c8' is complex; only bool, integer and float arrays are supported");
  CHECK(npy_error(npy_bytes("{'descr': '<f3', 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: dtype '<f3' has an unsupported size; expected b1, i1/i2/i4/i8, u1/u2/u4/u8 or f2/f4/f8");
  CHECK(npy_error(npy_bytes("{'descr': 'f4', 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: dtype 'f4' must start with a byte order ('<', '>', '|' or '=')");
  CHECK(npy_error(npy_bytes("{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}", {})) ==
        "x.npy: offset 20: dtype '|f4': '|' (not applicable) is only valid for 1-byte types");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", {})) ==
        "x.npy: bad .npy header at offset 44: expected a quoted string, found '0'");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", {})) ==
        "x.npy: bad .npy header at offset 44: fortran_order must be True or False");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': '2'}", {})) ==
        "x.npy: bad .npy header at offset 60: shape must be a tuple of integers such as (2, 3)");
  CHECK(npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", {})) ==
        "x.npy: offset 60: shape (65536, 65536, 65536) of float32 describes more than 2^48 bytes");

  std::vector<uint8_t> short_data(20, 0), long_data(25, 0);
  CHECK(npy_error(npy_bytes(kF4, short_data)) ==
        "x.npy: truncated: shape (2, 3) of float32 needs 24 data bytes at offset 128, found 20");
  CHECK(npy_error(npy_bytes(kF4, long_data)) ==
        "x.npy: trailing garbage: 1 bytes at offset 152, after the 24 data bytes that shape (2, 3) of float32 "
        "describes");
}
