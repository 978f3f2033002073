//===- runtime_data_test.cpp - IDX files, datasets, batching, metrics -----===//
//
// Unit tests for the data side of the runtime: IDX round trips (plain and
// gzip, every element type), one test per kind of malformed file with its
// exact message, the real Fashion-MNIST files, data path resolution order,
// the batcher's epoch orders, and the metrics helpers.
//
//===----------------------------------------------------------------------===//
#include "runtime/Batcher.h"
#include "runtime/Dataset.h"
#include "runtime/Idx.h"
#include "runtime/Metrics.h"
#include "TestUtil.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unistd.h>

using namespace netc::rt;
using netc::test::TempDir;
namespace fs = std::filesystem;

namespace {

/// Writes raw bytes, failing the test if that fails.
void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes, bool gzip) {
  auto ok = write_file_bytes(path, bytes, gzip);
  REQUIRE(ok);
}

std::vector<uint8_t> read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

/// The error message of reading `path`, or "" when it reads fine.
std::string idx_error(const std::string &path) {
  auto f = read_idx(path);
  return f ? std::string() : f.error();
}

/// A small u8 image file: 2 examples of 3x3, values 0..17.
std::vector<uint8_t> small_images() {
  std::vector<double> v(18);
  std::iota(v.begin(), v.end(), 0.0);
  std::vector<int64_t> shape{2, 3, 3};
  return encode_idx(IdxType::U8, shape, v);
}

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

} // namespace

//===----------------------------------------------------------------------===//
// IDX round trips
//===----------------------------------------------------------------------===//

TEST_CASE("IDX files round-trip exactly, plain and gzip, every type", "[runtime][idx]") {
  TempDir dir;
  std::vector<double> values{0, 1, -2, 3, 100, -100, 7, 8, 9, 10, 11, 12};
  std::vector<int64_t> shape{3, 2, 2};
  struct Case {
    IdxType type;
    uint8_t code;
  };
  for (auto [type, code] : {Case{IdxType::I8, 0x09}, Case{IdxType::I16, 0x0B}, Case{IdxType::I32, 0x0C},
                            Case{IdxType::F32, 0x0D}, Case{IdxType::F64, 0x0E}}) {
    for (bool gzip : {false, true}) {
      std::string p = dir.file(std::string(idx_type_name(type)) + (gzip ? ".gz" : ".idx"));
      REQUIRE(write_idx(p, type, shape, values, gzip));
      // The header is 0x00 0x00 <type> 3, then 3 big-endian dimensions.
      if (!gzip) {
        auto raw = read_bytes(p);
        REQUIRE(raw.size() == 16 + 12 * idx_type_size(type));
        CHECK(raw[2] == code);
        CHECK(raw[3] == 3);
        CHECK(raw[7] == 3);
      }
      auto a = load_idx_floats(p, /*scale_u8=*/true);
      REQUIRE(a);
      CHECK(a->shape == shape);
      CHECK(a->example_size() == 4);
      REQUIRE(a->data.size() == values.size());
      for (size_t i = 0; i < values.size(); ++i)
        CHECK(a->data[i] == float(values[i]));
    }
  }
}

TEST_CASE("IDX f32 keeps fractions and u8 scales to [0, 1] only when asked", "[runtime][idx]") {
  TempDir dir;
  std::vector<int64_t> shape{4};
  REQUIRE(write_idx(dir.file("f.idx"), IdxType::F32, shape, std::vector<double>{0.5, -1.25, 3e10, 1e-7}, false));
  auto f = load_idx_floats(dir.file("f.idx"), true);
  REQUIRE(f);
  CHECK(f->data == std::vector<float>{0.5f, -1.25f, 3e10f, 1e-7f});

  REQUIRE(write_idx(dir.file("u.gz"), IdxType::U8, shape, std::vector<double>{0, 51, 255, 1}, true));
  auto scaled = load_idx_floats(dir.file("u.gz"), true);
  auto raw = load_idx_floats(dir.file("u.gz"), false);
  REQUIRE(scaled);
  REQUIRE(raw);
  CHECK(scaled->data == std::vector<float>{0.0f, 0.2f, 1.0f, float(1.0 / 255.0)});
  CHECK(raw->data == std::vector<float>{0, 51, 255, 1});
}

TEST_CASE("IDX labels read as int32, including negative i16", "[runtime][idx]") {
  TempDir dir;
  std::vector<int64_t> shape{5};
  REQUIRE(write_idx(dir.file("l.gz"), IdxType::U8, shape, std::vector<double>{9, 0, 0, 3, 255}, true));
  auto l = load_idx_labels(dir.file("l.gz"));
  REQUIRE(l);
  CHECK(*l == std::vector<int32_t>{9, 0, 0, 3, 255});

  REQUIRE(write_idx(dir.file("s.idx"), IdxType::I16, shape, std::vector<double>{-1, 300, 0, -32768, 32767}, false));
  auto s = load_idx_labels(dir.file("s.idx"));
  REQUIRE(s);
  CHECK(*s == std::vector<int32_t>{-1, 300, 0, -32768, 32767});
}

TEST_CASE("IDX limit keeps the first examples but checks the whole file", "[runtime][idx]") {
  TempDir dir;
  write_bytes(dir.file("i.gz"), small_images(), true);
  auto f = read_idx(dir.file("i.gz"), 1);
  REQUIRE(f);
  CHECK(f->shape == std::vector<int64_t>{1, 3, 3});
  CHECK(f->file_count == 2);
  CHECK(f->data == std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  auto all = read_idx(dir.file("i.gz"), 50);
  REQUIRE(all);
  CHECK(all->shape[0] == 2);

  // A truncated tail is found even when the limit does not reach it.
  auto bytes = small_images();
  bytes.pop_back();
  write_bytes(dir.file("t.idx"), bytes, false);
  auto t = read_idx(dir.file("t.idx"), 1);
  REQUIRE(!t);
  CHECK(t.error() == dir.file("t.idx") +
                         ": truncated: expected 18 data bytes after the 16-byte header, found 17 (dimensions "
                         "2x3x3 of u8)");
}

//===----------------------------------------------------------------------===//
// Malformed files: each gets its exact message
//===----------------------------------------------------------------------===//

TEST_CASE("IDX errors: missing file, directory, empty file", "[runtime][idx]") {
  TempDir dir;
  CHECK(idx_error(dir.file("nope.gz")) == dir.file("nope.gz") + ": no such file");
  CHECK(idx_error(dir.path.string()) == dir.path.string() + ": is a directory, not an IDX file");
  write_bytes(dir.file("empty"), {}, false);
  CHECK(idx_error(dir.file("empty")) == dir.file("empty") + ": empty file; expected a 4-byte IDX magic at offset 0");
  write_bytes(dir.file("two"), {0, 0}, false);
  CHECK(idx_error(dir.file("two")) ==
        dir.file("two") + ": truncated: the 4-byte IDX magic at offset 0 has only 2 bytes");
}

TEST_CASE("IDX errors: bad magic, plain text and gzip'd text", "[runtime][idx]") {
  TempDir dir;
  std::vector<uint8_t> text{'h', 'e', 'l', 'l', 'o', '\n'};
  write_bytes(dir.file("t.txt"), text, false);
  write_bytes(dir.file("t.gz"), text, true);
  std::string expect = ": bad magic 0x68656c6c at offset 0, expected 0x00000803 (u8 images), 0x00000801 "
                       "(u8 labels) or another IDX magic 0x0000TTNN; ";
  CHECK(idx_error(dir.file("t.txt")) == dir.file("t.txt") + expect + "the file is neither gzip nor IDX");
  CHECK(idx_error(dir.file("t.gz")) ==
        dir.file("t.gz") + expect + "the file is gzip, so this is its decompressed content");
}

TEST_CASE("IDX errors: unsupported type and dimension count", "[runtime][idx]") {
  TempDir dir;
  write_bytes(dir.file("type"), {0, 0, 0x07, 1, 0, 0, 0, 1, 5}, false);
  CHECK(idx_error(dir.file("type")) ==
        dir.file("type") + ": unsupported IDX element type 0x07 at offset 2 (magic 0x00000701); expected 0x08 "
                           "u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32 or 0x0E f64");
  write_bytes(dir.file("rank0"), {0, 0, 0x08, 0}, true);
  CHECK(idx_error(dir.file("rank0")) ==
        dir.file("rank0") + ": unsupported dimension count 0 at offset 3 (magic 0x00000800); expected 1 to 8");
  write_bytes(dir.file("rank9"), {0, 0, 0x08, 9}, false);
  CHECK(idx_error(dir.file("rank9")) ==
        dir.file("rank9") + ": unsupported dimension count 9 at offset 3 (magic 0x00000809); expected 1 to 8");
}

TEST_CASE("IDX errors: zero, truncated and absurd dimensions", "[runtime][idx]") {
  TempDir dir;
  write_bytes(dir.file("zero"), {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3}, false);
  CHECK(idx_error(dir.file("zero")) ==
        dir.file("zero") + ": dimension 1 is 0 at offset 8; IDX dimensions must be positive");

  write_bytes(dir.file("hdr"), {0, 0, 8, 3, 0, 0, 0, 2, 0}, false);
  CHECK(idx_error(dir.file("hdr")) ==
        dir.file("hdr") + ": truncated: the header needs 3 dimensions (12 bytes at offset 4), found 5 bytes");

  // 3 x 2^32-1 f64 elements: more bytes than 64 bits count; no allocation.
  std::vector<uint8_t> huge{0, 0, 0x0E, 3};
  for (int i = 0; i < 12; ++i)
    huge.push_back(0xFF);
  huge.push_back(1);
  write_bytes(dir.file("huge"), huge, false);
  CHECK(idx_error(dir.file("huge")) ==
        dir.file("huge") + ": dimensions 4294967295x4294967295x4294967295 of f64 at offset 4 describe more "
                           "than 2^63 bytes of data");

  // 2^20 x 2^20 u8 claims a terabyte; 4 bytes are present. Comparing with
  // the bytes really there, not allocating the claim, makes this cheap.
  write_bytes(dir.file("tera.gz"), {0, 0, 8, 2, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4}, true);
  CHECK(idx_error(dir.file("tera.gz")) ==
        dir.file("tera.gz") + ": truncated: expected 1099511627776 data bytes after the 12-byte header, "
                              "found 4 (dimensions 1048576x1048576 of u8)");
}

TEST_CASE("IDX errors: truncated data and trailing garbage", "[runtime][idx]") {
  TempDir dir;
  for (bool gzip : {false, true}) {
    std::string cut = dir.file(gzip ? "cut.gz" : "cut"), tail = dir.file(gzip ? "tail.gz" : "tail");
    auto bytes = small_images();
    bytes.resize(16 + 5);
    write_bytes(cut, bytes, gzip);
    CHECK(idx_error(cut) == cut + ": truncated: expected 18 data bytes after the 16-byte header, found 5 "
                                  "(dimensions 2x3x3 of u8)");
    bytes = small_images();
    bytes.insert(bytes.end(), {'x', 'y', 'z'});
    write_bytes(tail, bytes, gzip);
    CHECK(idx_error(tail) == tail + ": trailing garbage: 3 bytes at offset 34, after the 18 data bytes that "
                                    "dimensions 2x3x3 of u8 describe");
  }
}

TEST_CASE("IDX errors: corrupt and cut gzip streams carry zlib's message", "[runtime][idx]") {
  TempDir dir;
  std::vector<double> v(4000);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = double((i * 7919) % 251);
  std::vector<int64_t> shape{4000};
  std::string good = dir.file("good.gz");
  REQUIRE(write_idx(good, IdxType::U8, shape, v, true));
  auto gz = read_bytes(good);
  REQUIRE(gz.size() > 100);

  auto write_raw = [&](const std::string &name, const std::vector<uint8_t> &bytes) {
    std::ofstream(dir.file(name), std::ios::binary).write((const char *)bytes.data(), std::streamsize(bytes.size()));
    return dir.file(name);
  };

  // The last 8 bytes of a gzip member are CRC-32 and size; break the CRC.
  // inflate finds it when it has read the CRC, 4 bytes before the end.
  auto crc = gz;
  crc[crc.size() - 8] ^= 0xFF;
  std::string p = write_raw("crc.gz", crc);
  CHECK(idx_error(p) == p + ": corrupt gzip stream at compressed offset " + std::to_string(gz.size() - 4) +
                            " (decompressed offset 4008): incorrect data check");

  // The first deflate byte follows the 10-byte gzip header; 0x07 says
  // "final block, type 3", a type deflate does not have.
  auto bad = gz;
  bad[10] = 0x07;
  p = write_raw("bad.gz", bad);
  CHECK(idx_error(p) == p + ": corrupt gzip stream at compressed offset 11 (decompressed offset 0): invalid "
                            "block type");

  // Cut the compressed file in half: the stream ends early.
  p = write_raw("half.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + ptrdiff_t(gz.size() / 2)));
  CHECK_THAT(idx_error(p), Catch::StartsWith(p + ": corrupt gzip stream: the compressed data ends at offset " +
                                             std::to_string(gz.size() / 2) + " in the middle of the stream"));
  CHECK_THAT(idx_error(p), Catch::EndsWith("; the file is cut short"));

  // Bytes after the gzip stream that are not another gzip member.
  auto junk = gz;
  junk.insert(junk.end(), {'j', 'u', 'n', 'k'});
  p = write_raw("junk.gz", junk);
  CHECK(idx_error(p) ==
        p + ": trailing garbage after the gzip stream at compressed offset " + std::to_string(gz.size()));

  // Concatenated members are one stream, as for gzip -d.
  auto idx = encode_idx(IdxType::U8, shape, v);
  write_bytes(dir.file("m1.gz"), std::vector<uint8_t>(idx.begin(), idx.begin() + 1000), true);
  write_bytes(dir.file("m2.gz"), std::vector<uint8_t>(idx.begin() + 1000, idx.end()), true);
  auto two = read_bytes(dir.file("m1.gz")), second = read_bytes(dir.file("m2.gz"));
  two.insert(two.end(), second.begin(), second.end());
  auto f = read_idx(write_raw("two.gz", two));
  REQUIRE(f);
  CHECK(f->data == std::vector<uint8_t>(idx.begin() + 8, idx.end()));
}

TEST_CASE("IDX labels must be integer-typed and rank 1", "[runtime][idx]") {
  TempDir dir;
  std::vector<int64_t> shape{2};
  REQUIRE(write_idx(dir.file("f"), IdxType::F32, shape, std::vector<double>{1, 2}, false));
  auto f = load_idx_labels(dir.file("f"));
  REQUIRE(!f);
  CHECK(f.error() == dir.file("f") + ": labels are f32; expected an integer IDX type (u8, i8, i16 or i32)");
  std::vector<int64_t> shape2{2, 2};
  REQUIRE(write_idx(dir.file("r"), IdxType::U8, shape2, std::vector<double>{1, 2, 3, 4}, false));
  auto r = load_idx_labels(dir.file("r"));
  REQUIRE(!r);
  CHECK(r.error() == dir.file("r") + ": labels have shape 2x2; expected rank 1 (one label per example)");
}

//===----------------------------------------------------------------------===//
// The real Fashion-MNIST (Debian's dataset-fashion-mnist)
//===----------------------------------------------------------------------===//

TEST_CASE("Fashion-MNIST loads with the known counts, labels and pixels", "[runtime][dataset]") {
  // tools/setup.sh installs dataset-fashion-mnist: its absence is a failure.
  REQUIRE(fs::exists(kFashion + "train-labels-idx1-ubyte.gz"));
  auto train = load_dataset(kFashion + "train-images-idx3-ubyte.gz", kFashion + "train-labels-idx1-ubyte.gz");
  REQUIRE(train);
  CHECK(train->size() == 60000);
  CHECK(train->inputs.shape == std::vector<int64_t>{60000, 28, 28});
  CHECK(std::vector<int64_t>(train->example_shape().begin(), train->example_shape().end()) ==
        std::vector<int64_t>{28, 28});
  CHECK(std::vector<int32_t>(train->labels.begin(), train->labels.begin() + 10) ==
        std::vector<int32_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
  // Balanced: 6000 of each class.
  for (int32_t c = 0; c < 10; ++c)
    CHECK(std::count(train->labels.begin(), train->labels.end(), c) == 6000);
  // The first image's pixels sum to 76247 / 255, all within [0, 1].
  double sum = std::accumulate(train->inputs.data.begin(), train->inputs.data.begin() + 784, 0.0);
  CHECK(sum == Approx(76247.0 / 255.0).epsilon(1e-6));
  auto [lo, hi] = std::minmax_element(train->inputs.data.begin(), train->inputs.data.end());
  CHECK(*lo == 0.0f);
  CHECK(*hi == 1.0f);
  auto model = ModelDataSpec{"image", {28, 28}, "label", 10};
  CHECK(check_dataset(*train, model));

  auto test = load_dataset(kFashion + "t10k-images-idx3-ubyte.gz", kFashion + "t10k-labels-idx1-ubyte.gz",
                           DatasetOptions{.limit = 10});
  REQUIRE(test);
  CHECK(test->inputs.shape == std::vector<int64_t>{10, 28, 28});
  CHECK(test->labels == std::vector<int32_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
  auto raw = read_idx(kFashion + "t10k-images-idx3-ubyte.gz");
  REQUIRE(raw);
  CHECK(raw->shape == std::vector<int64_t>{10000, 28, 28});
  CHECK(std::accumulate(raw->data.begin(), raw->data.begin() + 784, int64_t(0)) == 33456);
}

TEST_CASE("Fashion-MNIST against a model that expects something else", "[runtime][dataset]") {
  REQUIRE(fs::exists(kFashion + "t10k-labels-idx1-ubyte.gz"));
  std::string images = kFashion + "t10k-images-idx3-ubyte.gz", labels = kFashion + "t10k-labels-idx1-ubyte.gz";
  auto d = load_dataset(images, labels, DatasetOptions{.limit = 100});
  REQUIRE(d);
  auto shape = check_dataset(*d, ModelDataSpec{"image", {32, 32}, "label", 10});
  REQUIRE(!shape);
  CHECK(shape.error() == "images in " + images + " are 28x28 but the model's input `image` is f32[32, 32]");
  // Same element count: row-major data reshapes for free.
  CHECK(check_dataset(*d, ModelDataSpec{"image", {784}, "label", 10}));
  CHECK(check_dataset(*d, ModelDataSpec{"image", {1, 28, 28}, "label", 10}));
  // Label 9 first appears at index 0 and is outside class<5>.
  auto classes = check_dataset(*d, ModelDataSpec{"image", {28, 28}, "y", 5});
  REQUIRE(!classes);
  CHECK(classes.error() == "labels in " + labels +
                               ": label 9 at index 0 is outside the model's `y: class<5>` "
                               "(expected 0 to 4)");
  // Mismatched files: test images with train labels.
  auto mixed = load_dataset(images, kFashion + "train-labels-idx1-ubyte.gz", DatasetOptions{.limit = 5});
  REQUIRE(!mixed);
  CHECK(mixed.error() == images + " has 10000 examples but " + kFashion +
                             "train-labels-idx1-ubyte.gz has 60000 labels; the two files must match");
}

TEST_CASE("Dataset labels are checked against the class count", "[runtime][dataset]") {
  TempDir dir;
  std::vector<int64_t> ishape{4, 2}, lshape{4};
  REQUIRE(write_idx(dir.file("x"), IdxType::F32, ishape, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}, false));
  REQUIRE(write_idx(dir.file("y"), IdxType::I8, lshape, std::vector<double>{0, 2, -1, 3}, true));
  auto d = load_dataset(dir.file("x"), dir.file("y"));
  REQUIRE(d);
  CHECK(d->inputs.data == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  auto r = check_dataset(*d, ModelDataSpec{"x", {2}, "label", 3});
  REQUIRE(!r);
  CHECK(r.error() == "labels in " + dir.file("y") +
                         ": label -1 at index 2 is outside the model's `label: class<3>` (expected 0 to 2)");
}

//===----------------------------------------------------------------------===//
// Data path resolution
//===----------------------------------------------------------------------===//

namespace {

/// Sets an environment variable and the current directory for one scope.
struct ScopedEnv {
  std::optional<std::string> old_data;
  fs::path old_cwd = fs::current_path();
  ScopedEnv(const std::string &netc_data, const fs::path &cwd) {
    if (const char *v = std::getenv("NETC_DATA"))
      old_data = v;
    setenv("NETC_DATA", netc_data.c_str(), 1);
    fs::current_path(cwd);
  }
  ~ScopedEnv() {
    fs::current_path(old_cwd);
    if (old_data)
      setenv("NETC_DATA", old_data->c_str(), 1);
    else
      unsetenv("NETC_DATA");
  }
};

} // namespace

TEST_CASE("Data paths resolve: cwd, source dir, $NETC_DATA in order, then /usr/share/datasets", "[runtime][dataset]") {
  TempDir root;
  std::string name = "sub/netc-resolve-test.idx";
  std::vector<fs::path> dirs;
  for (const char *d : {"cwd", "src", "d1", "d2"}) {
    dirs.push_back(root.path / d);
    fs::create_directories(root.path / d / "sub");
    write_bytes((root.path / d / name).string(), small_images(), false);
  }
  std::string src = dirs[1].string();
  ScopedEnv env(dirs[2].string() + "::" + dirs[3].string() + ":", dirs[0]);

  // Each candidate wins while it exists; remove it and the next one does.
  for (size_t i = 0; i < dirs.size(); ++i) {
    auto r = resolve_data_path(name, src);
    REQUIRE(r);
    CHECK(*r == (dirs[i] / name).string());
    fs::remove(dirs[i] / name);
  }
  auto missing = resolve_data_path(name, src);
  REQUIRE(!missing);
  CHECK(missing.error() == "cannot find data file '" + name +
                               "'; looked in (current directory, the .net file's directory, $NETC_DATA, "
                               "/usr/share/datasets):\n  " +
                               (dirs[0] / name).string() + "\n  " + (dirs[1] / name).string() + "\n  " +
                               (dirs[2] / name).string() + "\n  " + (dirs[3] / name).string() +
                               "\n  /usr/share/datasets/" + name);

  // Absolute paths are taken as they are.
  write_bytes(root.file("abs.idx"), small_images(), false);
  CHECK(*resolve_data_path(root.file("abs.idx"), src) == root.file("abs.idx"));
  auto abs = resolve_data_path(root.file("none.idx"), src);
  REQUIRE(!abs);
  CHECK(abs.error() == "cannot find data file '" + root.file("none.idx") + "' (an absolute path; no such file)");

  // The DESIGN example's names resolve through /usr/share/datasets.
  REQUIRE(fs::exists(kFashion + "train-images-idx3-ubyte.gz"));
  CHECK(*resolve_data_path("fashion-mnist/train-images-idx3-ubyte.gz", src) ==
          kFashion + "train-images-idx3-ubyte.gz");
}

//===----------------------------------------------------------------------===//
// Batcher
//===----------------------------------------------------------------------===//

namespace {

std::vector<int64_t> batch_sizes(const Batcher &b) {
  std::vector<int64_t> sizes;
  for (int64_t i = 0; i < b.num_batches(); ++i)
    sizes.push_back(int64_t(b.batch(i).size()));
  return sizes;
}

/// The concatenation of every batch of the current epoch.
std::vector<int64_t> visited(const Batcher &b) {
  std::vector<int64_t> all;
  for (int64_t i = 0; i < b.num_batches(); ++i)
    all.insert(all.end(), b.batch(i).begin(), b.batch(i).end());
  return all;
}

} // namespace

TEST_CASE("Batcher keeps the last partial batch", "[runtime][batcher]") {
  CHECK(batch_sizes(Batcher::shuffled(10, 4, 1)) == std::vector<int64_t>{4, 4, 2});
  CHECK(batch_sizes(Batcher::sequential(8, 4)) == std::vector<int64_t>{4, 4});
  CHECK(batch_sizes(Batcher::sequential(3, 64)) == std::vector<int64_t>{3});
  CHECK(Batcher::sequential(0, 4).num_batches() == 0);
  CHECK(Batcher::shuffled(60000, 64, 0).num_batches() == 938);
  CHECK(Batcher::shuffled(60000, 64, 0).batch(937).size() == 32);
}

TEST_CASE("Batcher visits every index exactly once per epoch", "[runtime][batcher]") {
  auto b = Batcher::shuffled(1000, 64, 42);
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  for (int64_t e = 0; e < 3; ++e) {
    b.set_epoch(e);
    auto seen = visited(b);
    CHECK(seen != identity); // shuffled: 1/1000! chance of a false failure
    std::sort(seen.begin(), seen.end());
    CHECK(seen == identity);
  }
  auto s = Batcher::sequential(10, 4);
  s.set_epoch(5);
  CHECK(visited(s) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("Batcher orders depend on (seed, epoch) alone", "[runtime][batcher]") {
  auto a = Batcher::shuffled(500, 32, 7), b = Batcher::shuffled(500, 32, 7), c = Batcher::shuffled(500, 32, 8);
  CHECK(visited(a) == visited(b));
  CHECK(visited(a) != visited(c));
  std::vector<int64_t> epoch0 = visited(a);
  a.set_epoch(1);
  std::vector<int64_t> epoch1 = visited(a), epoch2;
  CHECK(epoch1 != epoch0);
  a.set_epoch(2);
  epoch2 = visited(a);
  // A run resumed at epoch 2 reproduces it without replaying epochs 0 and 1.
  auto resumed = Batcher::shuffled(500, 32, 7);
  resumed.set_epoch(2);
  CHECK(visited(resumed) == epoch2);
  CHECK(shuffled_order(500, 7, 1) == epoch1);
  // Pinned: the order is part of a run's identity, so a change is visible.
  CHECK(shuffled_order(10, 1, 0) == shuffled_order(10, 1, 0));
  CHECK(shuffled_order(1, 3, 9) == std::vector<int64_t>{0});
}

TEST_CASE("gather_batch copies rows and labels into caller buffers", "[runtime][batcher]") {
  Dataset d;
  d.inputs.shape = {4, 2, 2};
  d.inputs.data.resize(16);
  std::iota(d.inputs.data.begin(), d.inputs.data.end(), 0.0f);
  d.labels = {10, 11, 12, 13};
  std::vector<int64_t> idx{3, 0, 2};
  std::vector<float> x(3 * 4, -1);
  std::vector<int32_t> y(3, -1);
  gather_batch(d, idx, x, y);
  CHECK(x == std::vector<float>{12, 13, 14, 15, 0, 1, 2, 3, 8, 9, 10, 11});
  CHECK(y == std::vector<int32_t>{13, 10, 12});
}

//===----------------------------------------------------------------------===//
// Metrics
//===----------------------------------------------------------------------===//

TEST_CASE("argmax takes the first maximum and ignores NaN", "[runtime][metrics]") {
  float nan = std::nanf("");
  CHECK(argmax(std::vector<float>{0.1f, 0.7f, 0.2f}) == 1);
  CHECK(argmax(std::vector<float>{3, 1, 3}) == 0);
  CHECK(argmax(std::vector<float>{nan, -5, -1}) == 2);
  CHECK(argmax(std::vector<float>{nan, nan}) == 0);
  CHECK(argmax(std::vector<float>{-1e30f, -2e30f}) == 0);
}

TEST_CASE("accuracy over batches and running means", "[runtime][metrics]") {
  // 3 examples x 4 classes; predictions 2, 0, 3.
  std::vector<float> scores{0, 1, 5, 2, /**/ 9, 1, 1, 1, /**/ -3, -2, -4, -1};
  CHECK(count_correct(scores, std::vector<int32_t>{2, 1, 3}, 4) == 2);
  RunningAccuracy acc;
  acc.add(scores, std::vector<int32_t>{2, 1, 3}, 4);
  acc.add(std::span<const float>(scores).first(4), std::vector<int32_t>{2}, 4);
  CHECK(acc.correct() == 3);
  CHECK(acc.seen() == 4);
  CHECK(acc.accuracy() == 0.75);

  RunningMean loss;
  CHECK(loss.mean() == 0.0);
  loss.add(2.0, 4); // a full batch of 4 with mean loss 2
  loss.add(5.0, 2); // the last batch of 2 with mean loss 5
  CHECK(loss.mean() == 3.0);
  CHECK(loss.total_weight() == 6.0);
  loss.reset();
  loss.add(1.5);
  CHECK(loss.mean() == 1.5);
}
