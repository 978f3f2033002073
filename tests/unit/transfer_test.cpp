//===- transfer_test.cpp - Frozen and pretrained parameters ---------------===//
//
// Freezing in numbers (a frozen model's remaining gradients equal the full
// model's, and the frozen ones do not exist), the GloVe and vocabulary
// readers (every malformed file with its exact message), class selection,
// and load_pretrained: safetensors with renamed tensors, NPY, GloVe, and
// every mismatch named by tensor, parameter and file.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "ir/Interpreter.h"
#include "runtime/Dataset.h"
#include "runtime/Glove.h"
#include "runtime/Idx.h"
#include "runtime/trainer/Checkpoint.h"
#include "runtime/trainer/Loop.h"
#include "runtime/trainer/Pretrained.h"

#include <catch2/catch.hpp>
#include <cstring>

using namespace netc;
using namespace netc::rt;
using netc::test::TempDir;

namespace {

void write_text(const std::string &path, const std::string &text, bool gzip = false) {
  auto ok = write_file_bytes(path, std::span(reinterpret_cast<const uint8_t *>(text.data()), text.size()), gzip);
  REQUIRE(ok);
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  auto ok = write_file_bytes(path, bytes, false);
  REQUIRE(ok);
}

const char *const kModel = R"(
model m(x: f32[5], y: class<3>) {
    body   = x |> dense(4) |> relu |> dense(4) |> relu
    logits = body |> dense(3)
    loss cross_entropy(logits, y)
}
train m {
    FREEZE
}
)";

Module model_with(const std::string &freeze) {
  std::string text = kModel;
  text.replace(text.find("FREEZE"), 6, freeze);
  return test::compile_net(text);
}

/// The error of read_glove on `text` (vocabulary the, cat, dog; dim 3).
std::string glove_error(const std::string &text, TempDir &dir) {
  write_text(dir.file("g.txt"), text);
  std::vector<std::string> vocab{"the", "cat", "dog"};
  std::vector<float> table(9, -1.0f);
  Expected<GloveStats> s = read_glove(dir.file("g.txt"), vocab, 3, table);
  return s ? "" : s.error();
}

std::string vocab_error(const std::string &text, TempDir &dir) {
  write_text(dir.file("v.txt"), text);
  Expected<std::vector<std::string>> v = read_vocab_file(dir.file("v.txt"));
  return v ? "" : v.error();
}

std::span<const uint8_t> bytes_of(const std::vector<float> &v) {
  return std::span(reinterpret_cast<const uint8_t *>(v.data()), v.size() * sizeof(float));
}

} // namespace

//===----------------------------------------------------------------------===//
// Freezing
//===----------------------------------------------------------------------===//

TEST_CASE("a frozen body keeps the head's gradients exactly and has none of its own", "[transfer]") {
  Module full = model_with(""), frozen = model_with("freeze = [\"body\"]");
  std::vector<std::string> grads;
  for (const NamedValue &o : frozen.find_function("train_step")->outputs)
    grads.push_back(o.name);
  CHECK(grads == std::vector<std::string>{"loss"}); // updates, not gradient outputs, after the optimizer
  ParamStore params = init_params(full, 3);
  Pcg32 rng(5);
  std::vector<Tensor> args = {test::random_tensor({6, 5}, [&] { return rng.uniform(-1, 1); }),
                              Tensor(DType::I32, {6})};
  for (int i = 0; i < 6; ++i)
    args[1].data[size_t(i)] = i % 3;
  CallResult a = interpret(*full.find_function("train_step"), args, params);
  CallResult b = interpret(*frozen.find_function("train_step"), args, params);
  CHECK(a.outputs.at("loss").data == b.outputs.at("loss").data);
  // SGD without momentum: the head's new values are identical, the body's are not written.
  std::vector<std::string> updated;
  for (const auto &[name, t] : b.updates)
    updated.push_back(name);
  CHECK(updated == std::vector<std::string>{"logits.dense.b", "logits.dense.w"});
  for (const char *p : {"logits.dense.w", "logits.dense.b"})
    CHECK(a.updates.at(p).data == b.updates.at(p).data);
  CHECK(a.updates.count("body.dense1.w"));
  // The frozen train step has one node of the first layer's weight shape (its
  // parameter read) and one of the input's (the argument): no gradient of the
  // weight, no adjoint of the input. The full one computes the weight's.
  auto count_shaped = [](const Module &m, const Shape &s) {
    int64_t n = 0;
    for (const Node &node : m.find_function("train_step")->nodes)
      n += node.type.shape == s;
    return n;
  };
  CHECK(count_shaped(frozen, {5, 4}) == 1);
  CHECK(count_shaped(frozen, {kBatch, 5}) == 1);
  CHECK(count_shaped(full, {5, 4}) > 1);
  CHECK(count_shaped(full, {kBatch, 5}) == 1);
}

//===----------------------------------------------------------------------===//
// GloVe and vocabularies
//===----------------------------------------------------------------------===//

TEST_CASE("read_glove copies the vectors of vocabulary words and counts the rest", "[transfer][glove]") {
  TempDir dir;
  // CRLF, tabs, a trailing space, a word of several parts, a repeat, a word outside the vocabulary.
  write_text(dir.file("g.txt.gz"),
             "the 0.1 0.2 0.3\r\nzebra 1 2 3\ncat\t-1e-2 +2 3.5 \n. . . 7 8 9\nthe 9 9 9\n", true);
  std::vector<std::string> vocab{"the", "cat", "dog", ". . ."};
  std::vector<float> table(12, -1.0f);
  Expected<GloveStats> s = read_glove(dir.file("g.txt.gz"), vocab, 3, table);
  REQUIRE(s);
  CHECK(s->lines == 5);
  CHECK(s->found == 3);
  CHECK(s->repeated == 1);
  CHECK(s->missing == std::vector<int64_t>{2});
  CHECK(table == std::vector<float>{0.1f, 0.2f, 0.3f, -1e-2f, 2, 3.5f, -1, -1, -1, 7, 8, 9});
}

TEST_CASE("read_glove names the line, the offset and what was expected", "[transfer][glove]") {
  TempDir dir;
  std::string f = dir.file("g.txt");
  CHECK(glove_error("", dir) == f + ": empty file; expected lines of a word and 3 numbers");
  CHECK(glove_error("the 1 2\n", dir) == f + ": line 1 (offset 0): expected a word and 3 numbers, found 2 numbers "
                                             "after `the`");
  CHECK(glove_error("the 1 2 3 4\n", dir) ==
        f + ": line 1 (offset 0): expected a word and 3 numbers, found 4 numbers after `the`");
  CHECK(glove_error("400000 3\nthe 1 2 3\n", dir) ==
        f + ": line 1 (offset 0): expected a word and 3 numbers, found 1 number after `400000`; this looks like a "
            "word2vec header (count and dimension), which GloVe files do not have: delete the first line");
  CHECK(glove_error("the 1 2 3\ncat 1 2\n", dir) ==
        f + ": line 2 (offset 10): expected a word and 3 numbers, found 2 numbers after `cat`");
  CHECK(glove_error("the 1 2 3\ncat 1 0.x 3\n", dir) ==
        f + ": line 2 (offset 10): value 2 of the vector, `0.x` at offset 16, is not a finite number");
  CHECK(glove_error("the 1 nan 3\n", dir) ==
        f + ": line 1 (offset 0): value 2 of the vector, `nan` at offset 6, is not a finite number");
  CHECK(glove_error("the 1 2 3\n\ncat 1 2 3\n", dir) ==
        f + ": line 2 (offset 10) is empty; expected a word and its vector");
  CHECK(glove_error(std::string("the 1\0 2 3\n", 11), dir) == f + ": byte 0x00 at offset 5; a GloVe file is text");
  CHECK(glove_error("the " + std::string(size_t(1) << 20, '1') + "\n", dir) ==
        f + ": line 1 (offset 0) is longer than 1 MiB; a GloVe file has short lines");
  std::vector<std::string> vocab{"the"};
  std::vector<float> table(3);
  Expected<GloveStats> missing = read_glove(dir.file("none.txt"), vocab, 3, table);
  REQUIRE(!missing);
  CHECK(missing.error() == dir.file("none.txt") + ": no such file");
  Expected<GloveStats> directory = read_glove(dir.path.string(), vocab, 3, table);
  REQUIRE(!directory);
  CHECK(directory.error() == dir.path.string() + ": is a directory, not a GloVe file");
}

TEST_CASE("read_vocab_file: one token per line, each once", "[transfer][glove]") {
  TempDir dir;
  write_text(dir.file("v.txt"), "<pad>\r\nthe\ncat");
  Expected<std::vector<std::string>> v = read_vocab_file(dir.file("v.txt"));
  REQUIRE(v);
  CHECK(*v == std::vector<std::string>{"<pad>", "the", "cat"});
  std::string f = dir.file("v.txt");
  CHECK(vocab_error("", dir) == f + ": empty vocabulary file; expected one token per line");
  CHECK(vocab_error("the\n\ncat\n", dir) == f + ": line 2 (offset 4) is empty; a vocabulary file has one token per "
                                               "line");
  CHECK(vocab_error("the\ncat\nthe\n", dir) == f + ": line 3 (offset 8): token `the` repeats line 1");
  CHECK(vocab_error(std::string("a\nb\0\n", 5), dir) == f + ": byte 0x00 at offset 3; a vocabulary file is text");
}

//===----------------------------------------------------------------------===//
// Class selection
//===----------------------------------------------------------------------===//

TEST_CASE("classes keeps the listed classes, relabelled in list order, before the limit", "[transfer][data]") {
  TempDir dir;
  std::vector<double> pixels(6), labels{5, 1, 9, 5, 2, 9};
  for (size_t i = 0; i < 6; ++i)
    pixels[i] = double(i);
  REQUIRE(write_file_bytes(dir.file("x"), encode_idx(IdxType::U8, std::vector<int64_t>{6, 1}, pixels), false));
  REQUIRE(write_file_bytes(dir.file("y"), encode_idx(IdxType::U8, std::vector<int64_t>{6}, labels), false));
  DatasetOptions o;
  o.scale_u8 = false;
  o.classes = {9, 5};
  Expected<Dataset> d = load_dataset(dir.file("x"), dir.file("y"), o);
  REQUIRE(d);
  CHECK(d->labels == std::vector<int32_t>{1, 0, 1, 0});
  CHECK(d->inputs.data == std::vector<float>{0, 2, 3, 5});
  o.limit = 3;
  d = load_dataset(dir.file("x"), dir.file("y"), o);
  REQUIRE(d);
  CHECK(d->labels == std::vector<int32_t>{1, 0, 1});
  CHECK(d->inputs.shape == std::vector<int64_t>{3, 1});
  o.classes = {5, 7};
  d = load_dataset(dir.file("x"), dir.file("y"), o);
  REQUIRE(!d);
  CHECK(d.error() == dir.file("y") + ": no example has label 7, which `classes` selects");
}

//===----------------------------------------------------------------------===//
// load_pretrained
//===----------------------------------------------------------------------===//

TEST_CASE("load_pretrained: safetensors by (renamed) tensor, NPY, GloVe", "[transfer][pretrained]") {
  TempDir dir;
  std::vector<float> w{1, 2, 3, 4, 5, 6}, b{7, 8}, other{0};
  std::vector<StInput> in = {{"encoder.w", "F32", {2, 3}, bytes_of(w)},
                             {"encoder.b", "F32", {2}, bytes_of(b)},
                             {"unused", "F32", {1}, bytes_of(other)}};
  write_bytes(dir.file("a.safetensors"), encode_safetensors(in, {{"model", "another"}}));
  Predictions p{{2}, {0.5f, -0.5f}};
  write_bytes(dir.file("h.npy"), encode_npy(p));
  write_text(dir.file("vocab.txt"), "the\nzebra\n");
  write_text(dir.file("g.txt"), "the 1 2\n");

  std::vector<float> pw(6, 0), pb(2, 0), hb(2, 0), emb{9, 9, 9, 9};
  std::vector<PretrainedTarget> t = {
      {"body.w", {2, 3}, "glorot_uniform", "safetensors", "a.safetensors", "encoder.w", "", pw},
      {"body.b", {2}, "zeros", "safetensors", "a.safetensors", "encoder.b", "", pb},
      {"head.b", {2}, "zeros", "npy", "h.npy", "", "", hb},
      {"emb.table", {2, 2}, "glorot_uniform", "glove", "g.txt", "", "vocab.txt", emb},
  };
  Expected<std::vector<std::string>> msgs = load_pretrained(t, dir.path.string(), 7);
  REQUIRE(msgs);
  CHECK(pw == w);
  CHECK(pb == b);
  CHECK(hb == std::vector<float>{0.5f, -0.5f});
  CHECK(emb == std::vector<float>{1, 2, 9, 9});
  // Relative paths resolve against the source directory.
  CHECK(*msgs == std::vector<std::string>{
                     "initialised body.w <- encoder.w, body.b <- encoder.b from " + dir.file("a.safetensors"),
                     "initialised head.b from " + dir.file("h.npy"),
                     "initialised emb.table from " + dir.file("g.txt") +
                         ": 1 of 2 words found; 1 not in the file (zebra) keep their random glorot_uniform values "
                         "(seed 7)"});
}

TEST_CASE("load_pretrained names the tensor, the parameter and the file; the model stays untouched",
          "[transfer][pretrained]") {
  TempDir dir;
  std::vector<float> w{1, 2, 3, 4, 5, 6};
  std::vector<double> wd{1, 2, 3};
  std::vector<StInput> in = {
      {"w", "F32", {2, 3}, bytes_of(w)},
      {"d", "F64", {3}, std::span(reinterpret_cast<const uint8_t *>(wd.data()), 24)}};
  write_bytes(dir.file("a.safetensors"), encode_safetensors(in, {}));
  std::string a = dir.file("a.safetensors");
  std::vector<float> ok_values(6, 0), values(3, -1);
  auto error = [&](PretrainedTarget bad) {
    std::vector<PretrainedTarget> t = {{"first", {2, 3}, "zeros", "safetensors", "a.safetensors", "w", "", ok_values},
                                       bad};
    t[1].values = values;
    Expected<std::vector<std::string>> r = load_pretrained(t, dir.path.string(), 0);
    CHECK(ok_values == std::vector<float>(6, 0)); // nothing is written unless everything loads
    return r ? std::string() : r.error();
  };
  CHECK(error({"p", {3}, "zeros", "safetensors", "a.safetensors", "enc.w", "", {}}) ==
        a + ": no tensor `enc.w` to initialise parameter `p`; the file has 2 tensors: d, w");
  CHECK(error({"p", {3}, "zeros", "safetensors", "a.safetensors", "w", "", {}}) ==
        a + ": tensor `w` is F32 [2, 3] but parameter `p` is F32 [3]");
  CHECK(error({"p", {3}, "zeros", "safetensors", "a.safetensors", "d", "", {}}) ==
        a + ": tensor `d` is F64 [3] but parameter `p` is F32 [3]; netc loads F32 tensors (convert them with "
            ".float())");
  CHECK(error({"p", {3}, "zeros", "safetensors", "missing.safetensors", "w", "", {}}).starts_with(
      "the pretrained values of `p`: cannot find data file 'missing.safetensors'; looked in"));
  // A corrupt file: cut inside the header.
  std::vector<uint8_t> cut = encode_safetensors(in, {});
  cut.resize(40);
  write_bytes(dir.file("cut.safetensors"), cut);
  CHECK(error({"p", {3}, "zeros", "safetensors", "cut.safetensors", "w", "", {}}).starts_with(
      dir.file("cut.safetensors") + ": header length"));
  // NPY: shape and dtype.
  Predictions p{{2, 2}, {1, 2, 3, 4}};
  write_bytes(dir.file("m.npy"), encode_npy(p));
  CHECK(error({"p", {3}, "zeros", "npy", "m.npy", "", "", {}}) ==
        dir.file("m.npy") + ": holds float32 (2, 2) but parameter `p` is float32 (3)");
  std::vector<uint8_t> f8 = encode_npy(Predictions{{3}, {1, 2, 3}});
  size_t data_at = 10 + size_t(f8[8] | f8[9] << 8); // after the v1.0 header
  std::string header(f8.begin(), f8.begin() + std::ptrdiff_t(data_at));
  header.replace(header.find("<f4"), 3, "<f8");
  std::vector<uint8_t> npy8(header.begin(), header.end());
  npy8.resize(data_at + 24);
  std::memcpy(npy8.data() + data_at, wd.data(), 24);
  write_bytes(dir.file("d.npy"), npy8);
  CHECK(error({"p", {3}, "zeros", "npy", "d.npy", "", "", {}}) ==
        dir.file("d.npy") + ": holds float64 (3) but parameter `p` is float32 (3); save it with "
                            "arr.astype(numpy.float32)");
  // GloVe: the vocabulary must have one token per row.
  write_text(dir.file("vocab.txt"), "the\ncat\n");
  write_text(dir.file("g.txt"), "the 1 2 3\n");
  CHECK(error({"p", {3, 1}, "zeros", "glove", "g.txt", "", "vocab.txt", {}}) ==
        dir.file("vocab.txt") + ": 2 tokens, but `p` ([3, 1]) has 3 rows, one per token id");
}
