//===- augment_test.cpp - Training-image augmentation ---------------------===//
//
// Unit tests for runtime/Augment.h: each transform on small images with the
// exact expected pixels (mirror, integer translation, rotation by multiples
// of 90 degrees against transpose-and-flip, bilinear scale and crop), noise
// statistics under a fixed seed, the sampler's determinism, and the config
// text with its errors.
//
//===----------------------------------------------------------------------===//
#include "runtime/Augment.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

using namespace netc::rt;

namespace {

/// 0, 1, 2, ... laid out as an h x w x c image.
std::vector<float> iota_image(int64_t h, int64_t w, int64_t c = 1) {
  std::vector<float> v(size_t(h * w * c));
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

ImageView view(std::vector<float> &v, int64_t h, int64_t w, int64_t c = 1) { return {v.data(), h, w, c}; }

/// np.rot90(a): out[y][x] = a[x][w-1-y] (square a), the transpose with its rows reversed.
std::vector<float> rot90(const std::vector<float> &a, int64_t n, int64_t c) {
  std::vector<float> out(a.size());
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x)
      for (int64_t k = 0; k < c; ++k)
        out[size_t((y * n + x) * c + k)] = a[size_t((x * n + (n - 1 - y)) * c + k)];
  return out;
}

} // namespace

TEST_CASE("augment: mirror flips columns, every channel together", "[augment]") {
  std::vector<float> a = iota_image(2, 3);
  mirror_image(view(a, 2, 3));
  CHECK(a == std::vector<float>{2, 1, 0, 5, 4, 3});
  std::vector<float> rgb = iota_image(1, 2, 3);
  mirror_image(view(rgb, 1, 2, 3));
  CHECK(rgb == std::vector<float>{3, 4, 5, 0, 1, 2});
}

TEST_CASE("augment: integer translation moves pixels and fills zeros", "[augment]") {
  std::vector<float> a = iota_image(3, 3); // 0 1 2 / 3 4 5 / 6 7 8
  translate_image(view(a, 3, 3), 1, 0);    // right by one
  CHECK(a == std::vector<float>{0, 0, 1, 0, 3, 4, 0, 6, 7});
  a = iota_image(3, 3);
  translate_image(view(a, 3, 3), -1, 1); // left by one, down by one
  CHECK(a == std::vector<float>{0, 0, 0, 1, 2, 0, 4, 5, 0});
  a = iota_image(3, 3);
  translate_image(view(a, 3, 3), 0, -2);
  CHECK(a == std::vector<float>{6, 7, 8, 0, 0, 0, 0, 0, 0});
  std::vector<float> two = iota_image(2, 2, 2);
  translate_image(view(two, 2, 2, 2), 1, 1);
  CHECK(two == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 1});
}

TEST_CASE("augment: rotation by 90 degrees is np.rot90, exactly", "[augment]") {
  std::vector<float> scratch;
  for (int64_t n : {3, 4})
    for (int64_t c : {1, 2}) {
      std::vector<float> a = iota_image(n, n, c), expected = rot90(a, n, c);
      rotate_image(view(a, n, n, c), 90, scratch);
      CHECK(a == expected);
      std::vector<float> b = iota_image(n, n, c);
      rotate_image(view(b, n, n, c), 180, scratch);
      CHECK(b == rot90(rot90(iota_image(n, n, c), n, c), n, c));
      std::vector<float> d = iota_image(n, n, c);
      rotate_image(view(d, n, n, c), -90, scratch);
      CHECK(d == rot90(rot90(rot90(iota_image(n, n, c), n, c), n, c), n, c));
    }
  std::vector<float> a = iota_image(3, 3);
  rotate_image(view(a, 3, 3), 0, scratch);
  CHECK(a == iota_image(3, 3));
}

TEST_CASE("augment: rotation by 45 degrees samples bilinearly with zero fill", "[augment]") {
  // A 3x3 image of ones: the centre stays 1; corner (0, 0) samples the
  // input at (1, 1 - sqrt 2), above the image by sqrt 2 - 1 of a pixel:
  // weight 2 - sqrt 2 on pixel (1, 0) and the rest on zeros.
  std::vector<float> a(9, 1.0f), scratch;
  rotate_image(view(a, 3, 3), 45, scratch);
  CHECK(a[4] == 1.0f);
  CHECK(a[0] == Approx(2 - std::sqrt(2.0)).epsilon(1e-6));
  CHECK(a[1] == 1.0f); // (1, 0) samples (1 + sqrt 2 / 2, 1 - sqrt 2 / 2): ones all around
}

TEST_CASE("augment: scale and crop resample as documented", "[augment]") {
  std::vector<float> scratch;
  // Zoom by 2 about the centre of 3x3: output (x, y) samples (1 + (x-1)/2, 1 + (y-1)/2).
  std::vector<float> a = iota_image(3, 3);
  scale_image(view(a, 3, 3), 2, scratch);
  CHECK(a == std::vector<float>{2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6});
  // Shrink by 2: output (0, 0) samples (-1, -1), outside: 0; (1, 0) samples (1, -1): 0.
  a = iota_image(3, 3);
  scale_image(view(a, 3, 3), 0.5, scratch);
  CHECK(a == std::vector<float>{0, 0, 0, 0, 4, 0, 0, 0, 0});
  // The 2x2 window at (1, 1) of 0..8 (4 5 / 7 8) stretched over 3x3.
  a = iota_image(3, 3);
  crop_image(view(a, 3, 3), 1, 1, 2, scratch);
  CHECK(a == std::vector<float>{4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8});
  a = iota_image(3, 3);
  crop_image(view(a, 3, 3), 0, 0, 3, scratch);
  CHECK(a == iota_image(3, 3));
}

TEST_CASE("augment: noise with a fixed seed has the requested mean and spread", "[augment]") {
  std::vector<float> a(100 * 100, 0.5f), scratch;
  netc::Pcg32 rng = augment_rng(3);
  augment_image(view(a, 100, 100), {{AugmentOp::Noise, 0.2}}, rng, scratch);
  double sum = 0, sq = 0;
  for (float v : a)
    sum += v, sq += double(v) * v;
  double n = double(a.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  // 10,000 draws: the mean's standard error is 0.002, the sd's about 0.0014.
  CHECK(std::abs(mean - 0.5) < 0.008);
  CHECK(std::abs(sd - 0.2) < 0.006);
  CHECK(*std::min_element(a.begin(), a.end()) < 0.0f); // not clamped
}

TEST_CASE("augment: the sampler is a function of the generator state", "[augment]") {
  std::vector<AugmentOp> ops = {{AugmentOp::Mirror}, {AugmentOp::Rotate, 10}, {AugmentOp::Translate, 2},
                                {AugmentOp::Scale, 0.9, 1.1}, {AugmentOp::Crop, 24}, {AugmentOp::Noise, 0.05}};
  std::vector<float> a = iota_image(28, 28), b = a, scratch;
  netc::Pcg32 r1 = augment_rng(1), r2 = augment_rng(1);
  augment_image(view(a, 28, 28), ops, r1, scratch);
  augment_image(view(b, 28, 28), ops, r2, scratch);
  CHECK(a == b);
  CHECK(r1.state() == r2.state());
  CHECK(a != iota_image(28, 28));
  // About half of the draws mirror: a 1x2 image [0, 1] becomes [1, 0].
  netc::Pcg32 r = augment_rng(5);
  int flipped = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<float> p = {0, 1};
    augment_image(view(p, 1, 2), {{AugmentOp::Mirror}}, r, scratch);
    flipped += p[0] == 1;
  }
  CHECK((flipped > 440 && flipped < 560));
  // Translation by up to 1 picks each of the 9 shifts.
  std::vector<int> seen(9, 0);
  for (int i = 0; i < 900; ++i) {
    std::vector<float> p(9, 0);
    p[4] = 1;
    augment_image(view(p, 3, 3), {{AugmentOp::Translate, 1}}, r, scratch);
    ++seen[size_t(std::max_element(p.begin(), p.end()) - p.begin())];
  }
  for (int count : seen)
    CHECK((count > 60 && count < 140));
}

TEST_CASE("augment: config text round trip and errors", "[augment]") {
  Expected<std::vector<AugmentOp>> ops =
      parse_augment("mirror,rotate(10),translate(2),scale(0.9, 1.1),crop(24),noise(0.05)");
  REQUIRE(ops);
  CHECK(ops->size() == 6);
  CHECK((*ops)[3] == AugmentOp{AugmentOp::Scale, 0.9, 1.1});
  CHECK(augment_string(*ops) == "mirror,rotate(10),translate(2),scale(0.9, 1.1),crop(24),noise(0.05)");
  CHECK(parse_augment("")->empty());
  CHECK(parse_augment("mirror,flip").error() ==
        "augmentation list \"mirror,flip\": unknown augmentation `flip` at character 7");
  CHECK(parse_augment("rotate").error() ==
        "augmentation list \"rotate\": `rotate` needs 1 argument(s) in parentheses at character 6");
  CHECK(parse_augment("scale(1)").error() == "augmentation list \"scale(1)\": expected ',' at character 7");
  CHECK(parse_augment("noise(x)").error() == "augmentation list \"noise(x)\": expected a number at character 6");

  std::vector<int64_t> img = {28, 28}, flat = {784}, rgb = {8, 6, 3};
  CHECK(check_augment(*ops, img));
  CHECK(check_augment(*ops, flat).error() == "augmentation needs images of shape [H, W] or [H, W, C], not [784]");
  CHECK(check_augment({{AugmentOp::Crop, 7}}, rgb).error() == "augmentation `crop(7)` does not fit images of 8x6");
  CHECK(check_augment({{AugmentOp::Crop, 6}}, rgb));
  CHECK(check_augment({{AugmentOp::Translate, 1.5}}, rgb).error() ==
        "augmentation `translate(1.5)` does not fit images of 8x6");
  CHECK(check_augment({{AugmentOp::Scale, 1.2, 1.1}}, rgb).error() ==
        "augmentation `scale(1.2, 1.1)` does not fit images of 8x6");
}
