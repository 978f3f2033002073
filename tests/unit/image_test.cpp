//===- image_test.cpp - PNG files and picture grids -----------------------===//
//
// PNG round trips through stb (grey and RGB), the error for a file that is
// not an image, the float-to-grey scalings, the heat ramp, and grid layout.
//
//===----------------------------------------------------------------------===//
#include "runtime/Image.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace netc::rt;
namespace fs = std::filesystem;

namespace {

std::string temp_file(const std::string &name) {
  return (fs::temp_directory_path() / ("netc-image-" + std::to_string(getpid()) + "-" + name)).string();
}

} // namespace

TEST_CASE("PNG round trip keeps every pixel", "[image]") {
  for (int channels : {1, 3}) {
    Image img(7, 5, channels);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = uint8_t(i * 37 + 11);
    std::string path = temp_file("rt.png");
    REQUIRE(write_png(path, img));
    auto back = read_image(path, channels);
    REQUIRE(back);
    CHECK(back->width == 7);
    CHECK(back->height == 5);
    CHECK(back->pixels == img.pixels);
    fs::remove(path);
  }
}

TEST_CASE("reading a file that is not an image names the file", "[image]") {
  std::string path = temp_file("bad.png");
  std::ofstream(path) << "not a png at all";
  auto r = read_image(path, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().rfind(path + ": not a readable PNG", 0) == 0);
  fs::remove(path);
  auto missing = read_image(path, 1);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == path + ": cannot open image");
  CHECK_FALSE(write_png("/nonexistent-dir/x.png", Image(2, 2, 1)));
}

TEST_CASE("grey scalings and heat ramp", "[image]") {
  std::vector<float> v = {-2, 0, 1, 2};
  Image mm = grey_image(v, 2, 2, Scale::MinMax);
  CHECK(mm.pixels == std::vector<uint8_t>{0, 128, 191, 255});
  Image sym = grey_image(v, 2, 2, Scale::Symmetric);
  CHECK(sym.pixels == std::vector<uint8_t>{0, 128, 191, 255});
  std::vector<float> u = {-1, 0.5f, 1, 3};
  CHECK(grey_image(u, 4, 1, Scale::Unit).pixels == std::vector<uint8_t>{0, 128, 255, 255});
  std::vector<float> flat = {3, 3};
  CHECK(grey_image(flat, 2, 1, Scale::MinMax).pixels == std::vector<uint8_t>{128, 128});
  std::vector<float> h = {0, -1, 0.5f};
  Image heat = heat_image(h, 3, 1);
  CHECK(heat.channels == 3);
  CHECK(std::vector<uint8_t>(heat.pixels.begin(), heat.pixels.begin() + 3) == std::vector<uint8_t>{0, 0, 0});
  CHECK(std::vector<uint8_t>(heat.pixels.begin() + 3, heat.pixels.begin() + 6) ==
        std::vector<uint8_t>{255, 255, 255});
  CHECK(std::vector<uint8_t>(heat.pixels.begin() + 6, heat.pixels.end()) == std::vector<uint8_t>{255, 128, 0});
}

TEST_CASE("grid and hconcat place tiles with gaps", "[image]") {
  std::vector<Image> tiles;
  for (uint8_t k = 0; k < 5; ++k)
    tiles.emplace_back(3, 2, 1, uint8_t(10 + k));
  Image g = grid(tiles, 2, 1, 0);
  CHECK(g.width == 1 + 2 * 4);
  CHECK(g.height == 1 + 3 * 3);
  CHECK(*g.at(1, 1) == 10);
  CHECK(*g.at(5, 1) == 11);
  CHECK(*g.at(1, 7) == 14);
  CHECK(*g.at(5, 7) == 0); // the missing sixth tile is background
  CHECK(*g.at(0, 0) == 0);
  std::vector<Image> row = {Image(2, 2, 1, 50), Image(3, 4, 3, 200)};
  Image h = hconcat(row, 1, 0);
  CHECK(h.channels == 3);
  CHECK(h.width == 1 + 2 + 1 + 3 + 1);
  CHECK(h.height == 4 + 2);
  CHECK(h.at(1, 1)[2] == 50);
  CHECK(h.at(4, 4)[0] == 200);
  CHECK(*g.upscale(2).at(3, 3) == 10);
}
