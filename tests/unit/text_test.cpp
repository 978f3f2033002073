//===- text_test.cpp - The text loader: tokens, vocabulary, examples -----===//
//
// Unit tests for runtime/Text.h: both tokenizers, UTF-8 checking, the
// vocabulary's order and cap, document splitting, the hash split, the
// language-model windows with their exact ids, the unigram baseline, and
// each error message. One test reads the real fortunes corpus when the
// Debian package is installed.
//
//===----------------------------------------------------------------------===//
#include "runtime/Text.h"

#include "TestUtil.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

using namespace netc::rt;
using netc::test::TempDir;

namespace {

void write_text(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::vector<int32_t> ids_of(const Vocabulary &v, const std::vector<std::string> &tokens) {
  std::vector<int32_t> out;
  for (const std::string &t : tokens)
    out.push_back(v.id(t));
  return out;
}

} // namespace

TEST_CASE("text: characters are UTF-8 code points, words a fixed rule", "[text]") {
  CHECK(tokenize("ab é\n", TokenKind::Chars) == std::vector<std::string>{"a", "b", " ", "é", "\n"});
  CHECK(tokenize("Don't PANIC, it's 42!\n(Really.)", TokenKind::Words) ==
        std::vector<std::string>{"don't", "panic", ",", "it's", "42", "!", "(", "really", ".", ")"});
  CHECK(tokenize("  \t\n", TokenKind::Words).empty());
  CHECK(parse_token_kind("chars") == TokenKind::Chars);
  CHECK(parse_token_kind("words") == TokenKind::Words);
  CHECK(!parse_token_kind("bytes"));
}

TEST_CASE("text: invalid UTF-8 is found at its byte offset", "[text]") {
  CHECK(find_invalid_utf8("plain ascii") == -1);
  CHECK(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == -1); // é € 😀
  CHECK(find_invalid_utf8("caf\xE9 au lait") == 3);                         // Latin-1 é
  CHECK(find_invalid_utf8("ab\xC0\xAF") == 2);                               // overlong '/'
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);                             // a surrogate
  CHECK(find_invalid_utf8("x\xF4\x90\x80\x80") == 1);                        // above U+10FFFF
  CHECK(find_invalid_utf8("end\xE2\x82") == 3);                              // cut short
}

TEST_CASE("text: the vocabulary ranks by frequency, ties by bytes, capped", "[text]") {
  // counts: a 4, b 2, c 2, d 1, e 1
  std::vector<std::vector<std::string>> docs = {{"a", "b", "a", "c"}, {"d", "a", "c", "b", "a", "e"}};
  Vocabulary v = build_vocabulary(docs, 6);
  CHECK(v.tokens() == std::vector<std::string>{"<pad>", "<unk>", "<eos>", "a", "b", "c"});
  CHECK(ids_of(v, {"a", "b", "c", "d", "e", "zzz"}) == std::vector<int32_t>{3, 4, 5, 1, 1, 1});
  CHECK(build_vocabulary(docs, 100).size() == 8);
  CHECK(build_vocabulary(docs, 4).tokens().back() == "a");
}

TEST_CASE("text: vocabularies read back from their tokens are checked", "[text]") {
  CHECK(Vocabulary::from_tokens({"<pad>", "<unk>", "<eos>", "x"}));
  CHECK(Vocabulary::from_tokens({"<pad>", "<unk>", "<eos>"}).error() ==
        "a vocabulary needs the 3 special tokens and at least one more, found 3 tokens");
  CHECK(Vocabulary::from_tokens({"<pad>", "<eos>", "<unk>", "x"}).error() ==
        "vocabulary token 1 is \"<eos>\", expected the special token <unk>");
  CHECK(Vocabulary::from_tokens({"<pad>", "<unk>", "<eos>", "x", "x"}).error() ==
        "vocabulary token 4 (\"x\") repeats token 3");
}

TEST_CASE("text: streams, next-token windows, padding", "[text]") {
  Vocabulary v = build_vocabulary({{"h", "i", "h"}}, 10); // h 3, i 4
  std::vector<int32_t> s = encode_stream({{"h", "i"}, {"i", "h", "o"}}, v);
  CHECK(s == std::vector<int32_t>{2, 3, 4, 2, 4, 3, 1, 2});
  Dataset d = stream_examples(s, 3, "t");
  // 8 ids give (8 - 1) / 3 = 2 windows; the last id only ever is a target.
  REQUIRE(d.size() == 2);
  CHECK(d.inputs.shape == std::vector<int64_t>{2, 3});
  CHECK(d.inputs.data == std::vector<float>{2, 3, 4, 2, 4, 3});
  CHECK(d.labels == std::vector<int32_t>{3, 4, 2, 4, 3, 1});
  CHECK(d.label_shape == std::vector<int64_t>{3});
  CHECK(pad_or_truncate(std::vector<int32_t>{5, 6}, 4) == std::vector<int32_t>{5, 6, 0, 0});
  CHECK(pad_or_truncate(std::vector<int32_t>{5, 6, 7}, 2) == std::vector<int32_t>{5, 6});
  std::vector<int32_t> back{3, 4, 2, 1, 0, 3};
  CHECK(detokenize(back, v, TokenKind::Chars) == "hi\n\n\xEF\xBF\xBDh");
}

TEST_CASE("text: words join back with spaces except before punctuation", "[text]") {
  std::vector<std::string> t = tokenize("Hello, (big) world!", TokenKind::Words);
  Vocabulary v = build_vocabulary({t}, 20);
  CHECK(detokenize(ids_of(v, t), v, TokenKind::Words) == "hello, (big) world!");
}

TEST_CASE("text: the unigram baseline is add-one smoothed, in nats", "[text]") {
  std::vector<int64_t> counts{0, 0, 2, 5, 1}; // total 8 + 5 (one per id) = 13
  std::vector<int32_t> held{3, 4};
  double want = -(std::log(6.0 / 13) + std::log(2.0 / 13)) / 2;
  CHECK(unigram_cross_entropy(counts, held) == Approx(want).epsilon(1e-12));
}

TEST_CASE("text: documents split at separator lines, split by hash", "[text]") {
  TempDir dir;
  write_text(dir.file("a"), "one\n%\ntwo\nlines\n%\n\n%\n");
  write_text(dir.file("b"), "three");
  write_text(dir.file("a.dat"), "\xff\xfe binary index");
  auto files = expand_text_files(dir.file("*"), "");
  REQUIRE(files);
  CHECK(*files == std::vector<std::string>{dir.file("a"), dir.file("b")});
  auto docs = read_documents(*files, "%");
  REQUIRE(docs);
  REQUIRE(docs->size() == 3);
  CHECK((*docs)[0].text == "one");
  CHECK((*docs)[1].text == "two\nlines");
  CHECK((*docs)[1].line == 3);
  CHECK((*docs)[2].text == "three");
  auto whole = read_documents(*files, "");
  REQUIRE(whole);
  CHECK(whole->size() == 2);
  // The split depends on the text only; about the fraction asked for.
  CHECK(is_held_out("one", 0.5) == is_held_out("one", 0.5));
  CHECK(!is_held_out("one", 0.0));
  CHECK(is_held_out("one", 0.999999999));
  int held = 0;
  for (int i = 0; i < 10000; ++i)
    held += is_held_out("document " + std::to_string(i), 0.1);
  CHECK(held > 900);
  CHECK(held < 1100);
}

TEST_CASE("text: load_text end to end on a tiny corpus", "[text]") {
  TempDir dir;
  write_text(dir.file("c"), "abab\n%\nba\n");
  TextOptions o;
  o.length = 2, o.held_out = 0, o.vocab = 5;
  auto c = load_text(dir.file("c"), "", o);
  REQUIRE(c);
  // b 3, a 3: a wins the tie; the cap 5 leaves no room for b.
  CHECK(c->vocab.tokens() == std::vector<std::string>{"<pad>", "<unk>", "<eos>", "a", "b"});
  // stream: <eos> a b a b <eos> b a <eos> = 2 3 4 3 4 2 4 3 2
  CHECK(c->train.inputs.data == std::vector<float>{2, 3, 4, 3, 4, 2, 4, 3});
  CHECK(c->train.labels == std::vector<int32_t>{3, 4, 3, 4, 2, 4, 3, 2});
  CHECK(c->train_counts == std::vector<int64_t>{0, 0, 2, 3, 3});
  CHECK(c->held_out.size() == 0);
  CHECK(c->train_documents == 2);
}

TEST_CASE("text: errors name what is wrong", "[text]") {
  TempDir dir;
  TextOptions o;
  CHECK(load_text(dir.file("nothing*"), "", o).error().starts_with(
      "no text files match '" + dir.file("nothing*") + "' (regular files, *.dat skipped); looked in"));
  write_text(dir.file("latin1"), "ok\ncaf\xE9\n");
  CHECK(load_text(dir.file("latin1"), "", o).error() ==
        dir.file("latin1") + ": not UTF-8: byte 0xe9 at offset 6 does not start a valid UTF-8 sequence; convert "
                             "the file (e.g. iconv -f latin1 -t utf-8)");
  write_text(dir.file("empty"), "%\n%\n");
  CHECK(load_text(dir.file("empty"), "", o).error() ==
        "the text files (" + dir.file("empty") + ") hold no documents: every file is empty or only separators");
  write_text(dir.file("short"), "abc");
  o.length = 8;
  CHECK(load_text(dir.file("short"), "", o).error() ==
        "text '" + dir.file("short") +
            "': the training split has 5 tokens, fewer than one example of length 8 needs (9)");
  o.vocab = 0;
  CHECK(load_text(dir.file("short"), "", o).error() ==
        "text vocab must be at least 4 (the special tokens <pad>, <unk>, <eos> and one more), found 0");
  o.vocab = 10, o.length = 0;
  CHECK(load_text(dir.file("short"), "", o).error() == "text length must be a positive number of tokens, found 0");
  o.length = 4, o.held_out = 1;
  CHECK(load_text(dir.file("short"), "", o).error() == "text held_out must be a fraction in [0, 1), found 1");
}

TEST_CASE("text: the fortunes corpus", "[text]") {
  if (!std::filesystem::exists("/usr/share/games/fortunes/fortunes")) {
    WARN("skipped: the Debian package `fortunes` is not installed");
    return;
  }
  TextOptions o; // chars, vocab 256, length 64, 10 % held out
  auto c = load_text("fortunes/*", "", o);
  REQUIRE(c);
  // Plain ASCII with a handful of other characters: fewer than 256 distinct.
  CHECK(c->vocab.size() < 256);
  CHECK(c->vocab.token(3) == " ");
  CHECK(c->train_documents > 10 * c->held_out_documents / 2);
  CHECK(c->held_out.size() > 0);
  CHECK(c->train.size() > 20000);
}
