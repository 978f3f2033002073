//===- Image.cpp - 8-bit images, PNG files and picture grids --------------===//
//
// This file implements the image helpers over Debian's stb headers. stb's
// implementations are compiled here, once, with only the PNG writer and the
// decoders the trainer reads; nothing else in the project includes them.
//
//===----------------------------------------------------------------------===//
#include "runtime/Image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fmt/format.h>
#include <limits>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#include <stb/stb_image.h>
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <fstream>
#include <iterator>

namespace netc::rt {

Image Image::to_rgb() const {
  if (channels == 3)
    return *this;
  Image out(width, height, 3);
  for (int64_t i = 0; i < width * height; ++i)
    for (int c = 0; c < 3; ++c)
      out.pixels[size_t(i * 3 + c)] = pixels[size_t(i * channels)];
  return out;
}

Image Image::upscale(int64_t factor) const {
  Image out(width * factor, height * factor, channels);
  for (int64_t y = 0; y < out.height; ++y)
    for (int64_t x = 0; x < out.width; ++x)
      std::copy_n(at(x / factor, y / factor), channels, out.at(x, y));
  return out;
}

namespace {

void append_bytes(void *context, void *data, int size) {
  auto *out = static_cast<std::vector<uint8_t> *>(context);
  auto *p = static_cast<uint8_t *>(data);
  out->insert(out->end(), p, p + size);
}

} // namespace

Expected<void> write_png(const std::string &path, const Image &img) {
  constexpr int64_t kMax = 1 << 15;
  if (img.width <= 0 || img.height <= 0 || img.width > kMax || img.height > kMax ||
      (img.channels != 1 && img.channels != 3 && img.channels != 4))
    return fail(fmt::format("{}: cannot write a {}x{} image with {} channels as PNG", path, img.width,
                            img.height, img.channels));
  std::vector<uint8_t> bytes;
  if (!stbi_write_png_to_func(append_bytes, &bytes, int(img.width), int(img.height), int(img.channels),
                              img.pixels.data(), int(img.width * img.channels)))
    return fail(path + ": PNG encoding failed");
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
  f.close();
  if (!f)
    return fail(path + ": cannot write PNG (check that the directory exists and is writable)");
  return {};
}

Expected<Image> read_image(const std::string &path, int channels) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail(path + ": cannot open image");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() > size_t(std::numeric_limits<int>::max()))
    return fail(path + ": image file too large");
  int w = 0, h = 0, n = 0;
  stbi_uc *data = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &n, channels);
  if (!data)
    return fail(fmt::format("{}: not a readable PNG, JPEG, BMP or PNM image ({})", path,
                            stbi_failure_reason() ? stbi_failure_reason() : "unknown reason"));
  Image img(w, h, channels);
  std::copy_n(data, img.pixels.size(), img.pixels.begin());
  stbi_image_free(data);
  return img;
}

namespace {

uint8_t to_byte(double v) { return uint8_t(std::clamp(std::lround(v * 255.0), 0L, 255L)); }

} // namespace

Image grey_image(std::span<const float> values, int64_t width, int64_t height, Scale scale) {
  Image img(width, height, 1);
  double lo = 0, hi = 1;
  if (scale != Scale::Unit) {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn;
    for (float v : values)
      if (std::isfinite(v))
        mn = std::min(mn, double(v)), mx = std::max(mx, double(v));
    if (scale == Scale::Symmetric) {
      double m = std::max(std::abs(mn), std::abs(mx));
      lo = -m, hi = m;
    } else {
      lo = mn, hi = mx;
    }
  }
  double range = hi - lo;
  for (size_t i = 0; i < size_t(width * height); ++i) {
    double v = values[i];
    img.pixels[i] = !(range > 0) || !std::isfinite(range) ? 128 : to_byte((v - lo) / range);
  }
  return img;
}

Image heat_image(std::span<const float> values, int64_t width, int64_t height) {
  Image img(width, height, 3);
  double mx = 0;
  for (float v : values)
    if (std::isfinite(v))
      mx = std::max(mx, double(std::abs(v)));
  for (size_t i = 0; i < size_t(width * height); ++i) {
    double t = mx > 0 && std::isfinite(values[i]) ? std::abs(values[i]) / mx : 0.0;
    // black -> red -> yellow -> white, each third of the range one channel.
    img.pixels[3 * i + 0] = to_byte(t * 3);
    img.pixels[3 * i + 1] = to_byte(t * 3 - 1);
    img.pixels[3 * i + 2] = to_byte(t * 3 - 2);
  }
  return img;
}

Image grid(std::span<const Image> tiles, int64_t columns, int64_t gap, uint8_t background) {
  if (tiles.empty())
    return Image(1, 1, 1, background);
  int64_t tw = tiles[0].width, th = tiles[0].height, ch = tiles[0].channels;
  columns = std::max<int64_t>(1, std::min<int64_t>(columns, int64_t(tiles.size())));
  int64_t rows = (int64_t(tiles.size()) + columns - 1) / columns;
  Image out(gap + columns * (tw + gap), gap + rows * (th + gap), ch, background);
  for (size_t k = 0; k < tiles.size(); ++k) {
    const Image &t = tiles[k];
    int64_t x0 = gap + int64_t(k) % columns * (tw + gap), y0 = gap + int64_t(k) / columns * (th + gap);
    for (int64_t y = 0; y < std::min(th, t.height); ++y)
      for (int64_t x = 0; x < std::min(tw, t.width); ++x)
        std::copy_n(t.at(x, y), std::min(ch, t.channels), out.at(x0 + x, y0 + y));
  }
  return out;
}

Image hconcat(std::span<const Image> tiles, int64_t gap, uint8_t background) {
  int64_t ch = 1, w = gap, h = 0;
  for (const Image &t : tiles) {
    ch = std::max(ch, t.channels);
    w += t.width + gap;
    h = std::max(h, t.height);
  }
  Image out(w, h + 2 * gap, ch, background);
  int64_t x0 = gap;
  for (const Image &t : tiles) {
    Image c = ch == 3 ? t.to_rgb() : t;
    for (int64_t y = 0; y < c.height; ++y)
      for (int64_t x = 0; x < c.width; ++x)
        std::copy_n(c.at(x, y), ch, out.at(x0 + x, gap + y));
    x0 += t.width + gap;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Drawing
//===----------------------------------------------------------------------===//

void fill_rect(Image &img, int64_t x, int64_t y, int64_t w, int64_t h, Rgb c) {
  int64_t xa = std::max<int64_t>(x, 0), ya = std::max<int64_t>(y, 0);
  int64_t xb = std::min(x + w, img.width), yb = std::min(y + h, img.height);
  for (int64_t j = ya; j < yb; ++j)
    for (int64_t i = xa; i < xb; ++i) {
      uint8_t *p = img.at(i, j);
      if (img.channels == 3)
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
      else
        p[0] = uint8_t((299 * c.r + 587 * c.g + 114 * c.b) / 1000);
    }
}

void draw_line(Image &img, int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c, int64_t thickness) {
  // Bresenham over all octants; each pixel stamps a thickness-wide square.
  int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy, half = (thickness - 1) / 2;
  for (;;) {
    fill_rect(img, x0 - half, y0 - half, thickness, thickness, c);
    if (x0 == x1 && y0 == y1)
      return;
    int64_t e2 = 2 * err;
    if (e2 >= dy)
      err += dy, x0 += sx;
    if (e2 <= dx)
      err += dx, y0 += sy;
  }
}

void draw_text(Image &img, int64_t x, int64_t y, const std::string &text, Rgb c, int64_t scale) {
  // stb_easy_font emits axis-aligned quads, 4 vertices of 16 bytes each
  // (x, y, z floats and an RGBA colour), at font-pixel coordinates.
  std::vector<char> buffer(text.size() * 2048 + 64); // a glyph has at most ~30 quads of 64 bytes
  std::string copy = text;
  int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer.data(), int(buffer.size()));
  for (int q = 0; q < quads; ++q) {
    const char *v = buffer.data() + q * 64;
    float x0, y0, x1, y1;
    std::memcpy(&x0, v, 4), std::memcpy(&y0, v + 4, 4);
    std::memcpy(&x1, v + 32, 4), std::memcpy(&y1, v + 36, 4); // the opposite corner
    fill_rect(img, x + int64_t(x0) * scale, y + int64_t(y0) * scale, int64_t(x1 - x0) * scale,
              int64_t(y1 - y0) * scale, c);
  }
}

int64_t text_width(const std::string &text, int64_t scale) {
  std::string copy = text;
  return int64_t(stb_easy_font_width(copy.data())) * scale;
}

int64_t text_height(const std::string &text, int64_t scale) {
  std::string copy = text;
  return int64_t(stb_easy_font_height(copy.data())) * scale;
}

} // namespace netc::rt
