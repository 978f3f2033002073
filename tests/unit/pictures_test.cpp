//===- pictures_test.cpp - The trainer's picture helpers ------------------===//
//
// What the saliency, filters, activations and topk commands are built from:
// which inputs are images, the did-you-mean listing of valid names, the
// saliency-mass measure, and the tile layouts of filters and feature maps.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Pictures.h"

#include <catch2/catch.hpp>

using namespace netc::rt;

TEST_CASE("image inputs are [H, W] or [H, W, 1|3]", "[pictures]") {
  std::vector<int64_t> grey{28, 28}, rgb{32, 32, 3}, flat{784}, four{2, 2, 4};
  Expected<ImageShape> g = image_shape(grey, "image");
  REQUIRE(g);
  CHECK((g->height == 28 && g->width == 28 && g->channels == 1));
  Expected<ImageShape> c = image_shape(rgb, "image");
  REQUIRE(c);
  CHECK(c->channels == 3);
  Expected<ImageShape> f = image_shape(flat, "x");
  REQUIRE_FALSE(f);
  CHECK(f.error() == "input `x` has the per-example shape [784], which is not an image ([H, W] or [H, W, C] with "
                     "C = 1 or 3); these pictures need image inputs");
  CHECK_FALSE(image_shape(four, "x"));
}

TEST_CASE("unknown names list the valid ones with a did-you-mean", "[pictures]") {
  Error e = unknown_name("named value", "hh", {"h", "h2", "logits", "prob"});
  CHECK(e.message == "unknown named value `hh`; the named values are: h, h2, logits, prob; did you mean `h`?");
  Error far = unknown_name("named value", "zzzzzz", {"h", "logits"});
  CHECK(far.message == "unknown named value `zzzzzz`; the named values are: h, logits");
}

TEST_CASE("saliency mass: the share of |gradient| on non-zero input pixels", "[pictures]") {
  std::vector<float> x{0, 0.5f, 1, 0}, g{1, -2, 3, -4};
  SaliencyMass s = saliency_mass(x, g);
  CHECK(s.object_mass == Approx(5.0 / 10.0));
  CHECK(s.object_area == Approx(0.5));
  std::vector<float> zero(4, 0.0f);
  CHECK(saliency_mass(x, zero).object_mass == 0);
}

TEST_CASE("filter tiles: one per filter, or filters x input channels", "[pictures]") {
  // [KH=3, KW=2, C=2, F=3]: w[y][x][c][f] = f + 10 c (+ y, x).
  std::vector<int64_t> shape{3, 2, 2, 3};
  std::vector<float> w(3 * 2 * 2 * 3);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 2; ++x)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t f = 0; f < 3; ++f)
          w[size_t(((y * 2 + x) * 2 + c) * 3 + f)] = float(f + 10 * c) * (y == 0 && x == 0 ? 1.0f : -1.0f);
  int64_t columns = 0;
  std::vector<Image> tiles = filter_tiles(w, shape, false, columns);
  REQUIRE(tiles.size() == 6); // 3 filters x 2 channels
  CHECK(columns == 2);
  CHECK((tiles[0].width == 16 && tiles[0].height == 24)); // 3x2 upscaled x8
  // Tile (filter 2, channel 1) holds +/-12, the layer's extreme: white top-left.
  CHECK(int(tiles[5].at(0, 0)[0]) == 255);
  CHECK(int(tiles[5].at(8, 8)[0]) == 0);
  // Filter 0, channel 0 is all zero: mid grey on the layer's scale.
  CHECK(int(tiles[0].at(0, 0)[0]) == 128);
  std::vector<Image> mean = filter_tiles(w, shape, true, columns);
  CHECK(mean.size() == 3);
  CHECK(columns == 3);
}

TEST_CASE("activation tiles: one per channel on one scale", "[pictures]") {
  std::vector<int64_t> shape{2, 2, 3};
  std::vector<float> v(12);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(i % 3); // channel c holds c everywhere
  Expected<std::vector<Image>> tiles = activation_tiles(v, shape, "h");
  REQUIRE(tiles);
  REQUIRE(tiles->size() == 3);
  CHECK((*tiles)[0].width == 48); // 2x2 upscaled to at least 48
  CHECK(int((*tiles)[0].at(0, 0)[0]) == 0);
  CHECK(int((*tiles)[2].at(0, 0)[0]) == 255);
  std::vector<int64_t> vec{10};
  Expected<std::vector<Image>> one = activation_tiles(std::vector<float>(10, 1.0f), vec, "logits");
  REQUIRE(one);
  CHECK(one->size() == 1);
  std::vector<int64_t> rank4{1, 1, 1, 1};
  CHECK_FALSE(activation_tiles(std::vector<float>(1), rank4, "x"));
}
