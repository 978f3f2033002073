//===- Image.h - 8-bit images, PNG files and picture grids -----*- C++ -*-===//
//
// What the trainer's pictures are made of: saliency maps, filter and
// activation grids, training curves, and images read for `predict`. PNG
// encoding and decoding go through Debian's stb (libstb-dev: stb_image_write
// and stb_image, compiled into Image.cpp), so trainers stay self-contained.
//
// Pixels are row-major, interleaved, 8 bits per channel; 1 channel is grey,
// 3 is RGB. Every failure (an unwritable path, a file that is not a PNG, an
// image too large) is an Error naming the file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

struct Image {
  int64_t width = 0, height = 0, channels = 1;
  std::vector<uint8_t> pixels; // height * width * channels

  Image() = default;
  Image(int64_t w, int64_t h, int64_t c, uint8_t fill = 0)
      : width(w), height(h), channels(c), pixels(size_t(w * h * c), fill) {}

  uint8_t *at(int64_t x, int64_t y) { return &pixels[size_t((y * width + x) * channels)]; }
  const uint8_t *at(int64_t x, int64_t y) const { return &pixels[size_t((y * width + x) * channels)]; }
  /// The same picture with 3 channels (grey replicated).
  Image to_rgb() const;
  /// Each pixel repeated `factor` times in x and y (nearest neighbour), so
  /// 28x28 inputs are visible at a useful size.
  Image upscale(int64_t factor) const;
};

/// Writes `img` as a PNG. Fails with "path: cannot write PNG" when the file
/// cannot be created.
Expected<void> write_png(const std::string &path, const Image &img);

/// Reads a PNG (or any format stb_image decodes: JPEG, BMP, PGM) as
/// `channels` channels (1 grey, 3 RGB), converting as needed.
Expected<Image> read_image(const std::string &path, int channels);

/// How floats become grey levels.
enum class Scale {
  MinMax,    // [min, max] of the values -> [0, 255]
  Symmetric, // [-max|v|, +max|v|] -> [0, 255], 0 at mid grey (weights)
  Unit,      // [0, 1] -> [0, 255], clamped (input images)
};

/// A width x height grey image of `values` (row-major, values.size() ==
/// width * height). Constant inputs give mid grey (MinMax, Symmetric).
Image grey_image(std::span<const float> values, int64_t width, int64_t height, Scale scale);

/// A heat map of non-negative `values` (e.g. |saliency|) scaled by their
/// maximum, through a black-red-yellow-white colour ramp; RGB.
Image heat_image(std::span<const float> values, int64_t width, int64_t height);

/// Tiles of equal size laid out `columns` per row with `gap` pixels of
/// `background` between them and around the border. All tiles must have the
/// same width, height and channel count.
Image grid(std::span<const Image> tiles, int64_t columns, int64_t gap = 2, uint8_t background = 64);

/// An RGB colour.
struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb &) const = default;
};

/// Drawing on an RGB image; everything is clipped to the image.
/// Fills the w x h rectangle whose top-left pixel is (x, y).
void fill_rect(Image &img, int64_t x, int64_t y, int64_t w, int64_t h, Rgb c);
/// A straight line from (x0, y0) to (x1, y1), `thickness` pixels wide
/// (a square pen moved along Bresenham's pixels).
void draw_line(Image &img, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c, int64_t thickness = 1);
/// Text in stb_easy_font's bitmap font (Debian's libstb-dev), each font
/// pixel drawn as scale x scale; (x, y) is the top-left corner. ASCII only.
void draw_text(Image &img, int64_t x, int64_t y, const std::string &text, Rgb c, int64_t scale = 1);
/// The width and height draw_text covers.
int64_t text_width(const std::string &text, int64_t scale = 1);
int64_t text_height(const std::string &text, int64_t scale = 1);

/// Tiles side by side (one row) of possibly different heights, top-aligned;
/// channels are made equal (grey tiles become RGB when any tile is RGB).
Image hconcat(std::span<const Image> tiles, int64_t gap = 2, uint8_t background = 64);

} // namespace netc::rt
