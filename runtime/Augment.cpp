//===- Augment.cpp - Random perturbations of training images --------------===//
//
// This file implements the config text of augmentations, the transforms
// (exact ones in place, resampling ones through a scratch copy of the
// input), and the per-image sampler.
//
//===----------------------------------------------------------------------===//
#include "runtime/Augment.h"

#include "runtime/Idx.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace netc::rt {

namespace {

/// Each op's config name and argument count.
struct OpSpelling {
  const char *name;
  AugmentOp::Kind kind;
  int args;
};
constexpr OpSpelling kOps[] = {{"mirror", AugmentOp::Mirror, 0}, {"rotate", AugmentOp::Rotate, 1},
                               {"translate", AugmentOp::Translate, 1}, {"scale", AugmentOp::Scale, 2},
                               {"crop", AugmentOp::Crop, 1},          {"noise", AugmentOp::Noise, 1}};

const OpSpelling &spelling(AugmentOp::Kind k) {
  for (const OpSpelling &s : kOps)
    if (s.kind == k)
      return s;
  return kOps[0];
}

/// Value of the input at integer pixel (x, y), channel k; 0 outside.
double pixel(const float *src, int64_t h, int64_t w, int64_t c, int64_t x, int64_t y, int64_t k) {
  if (x < 0 || y < 0 || x >= w || y >= h)
    return 0;
  return src[(y * w + x) * c + k];
}

/// A coordinate within 1e-9 of a pixel centre is that centre: cos(90 deg)
/// is 6e-17, not 0, and must not blend a neighbour into a moved pixel.
double snap(double v) {
  double r = std::round(v);
  return std::abs(v - r) < 1e-9 ? r : v;
}

/// Bilinear sample of the input at (x, y), zero outside.
double bilinear(const float *src, int64_t h, int64_t w, int64_t c, double x, double y, int64_t k) {
  x = snap(x), y = snap(y);
  double fx = std::floor(x), fy = std::floor(y);
  double tx = x - fx, ty = y - fy;
  auto x0 = int64_t(fx), y0 = int64_t(fy);
  double top = (1 - tx) * pixel(src, h, w, c, x0, y0, k) + tx * pixel(src, h, w, c, x0 + 1, y0, k);
  double bottom = (1 - tx) * pixel(src, h, w, c, x0, y0 + 1, k) + tx * pixel(src, h, w, c, x0 + 1, y0 + 1, k);
  return (1 - ty) * top + ty * bottom;
}

/// Resamples `img` in place: output pixel (x, y) takes the input at
/// map(x, y). Coordinates outside [-1, size] read 0 without lookups.
template <class Map> void resample(ImageView img, std::vector<float> &scratch, Map map) {
  scratch.assign(img.data, img.data + img.size());
  const float *src = scratch.data();
  for (int64_t y = 0; y < img.h; ++y)
    for (int64_t x = 0; x < img.w; ++x) {
      auto [sx, sy] = map(double(x), double(y));
      bool outside = !(sx > -1 && sy > -1 && sx < double(img.w) && sy < double(img.h)); // also NaN
      for (int64_t k = 0; k < img.c; ++k)
        img.at(y, x, k) = outside ? 0.0f : float(bilinear(src, img.h, img.w, img.c, sx, sy, k));
    }
}

} // namespace

std::string AugmentOp::str() const {
  const OpSpelling &s = spelling(kind);
  if (s.args == 0)
    return s.name;
  if (s.args == 1)
    return fmt::format("{}({})", s.name, a);
  return fmt::format("{}({}, {})", s.name, a, b);
}

std::string augment_string(const std::vector<AugmentOp> &ops) {
  std::string s;
  for (const AugmentOp &op : ops)
    s += (s.empty() ? "" : ",") + op.str();
  return s;
}

Expected<std::vector<AugmentOp>> parse_augment(const std::string &text) {
  std::vector<AugmentOp> ops;
  size_t pos = 0;
  auto bad = [&](const std::string &what) {
    return fail(fmt::format("augmentation list \"{}\": {} at character {}", text, what, pos));
  };
  while (pos < text.size()) {
    size_t end = text.find_first_of("(,", pos);
    std::string name = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const OpSpelling *spec = nullptr;
    for (const OpSpelling &s : kOps)
      if (name == s.name)
        spec = &s;
    if (!spec)
      return bad(fmt::format("unknown augmentation `{}`", name));
    AugmentOp op{spec->kind};
    pos += name.size();
    if (spec->args > 0) {
      if (pos >= text.size() || text[pos] != '(')
        return bad(fmt::format("`{}` needs {} argument(s) in parentheses", name, spec->args));
      double *slots[] = {&op.a, &op.b};
      for (int i = 0; i < spec->args; ++i) {
        ++pos; // '(' or ','
        while (pos < text.size() && text[pos] == ' ')
          ++pos;
        const char *start = text.c_str() + pos;
        char *stop = nullptr;
        *slots[i] = std::strtod(start, &stop);
        if (stop == start || !std::isfinite(*slots[i]))
          return bad("expected a number");
        pos += size_t(stop - start);
        char want = i + 1 == spec->args ? ')' : ',';
        if (pos >= text.size() || text[pos] != want)
          return bad(fmt::format("expected '{}'", want));
      }
      ++pos;
    }
    ops.push_back(op);
    if (pos < text.size() && text[pos] != ',')
      return bad("expected ','");
    if (pos < text.size())
      ++pos;
  }
  return ops;
}

Expected<std::vector<int64_t>> image_dims(std::span<const int64_t> shape) {
  if (shape.size() == 2)
    return std::vector<int64_t>{shape[0], shape[1], 1};
  if (shape.size() == 3)
    return std::vector<int64_t>{shape[0], shape[1], shape[2]};
  return fail(fmt::format("augmentation needs images of shape [H, W] or [H, W, C], not {}", shape_list(shape)));
}

Expected<void> check_augment(const std::vector<AugmentOp> &ops, std::span<const int64_t> example_shape) {
  Expected<std::vector<int64_t>> dims = image_dims(example_shape);
  if (!dims)
    return Error{dims.error()};
  int64_t side = std::min((*dims)[0], (*dims)[1]);
  for (const AugmentOp &op : ops) {
    bool whole = op.a == std::floor(op.a), ok = op.a >= 0;
    switch (op.kind) {
    case AugmentOp::Mirror:
    case AugmentOp::Rotate:
    case AugmentOp::Noise: break;
    case AugmentOp::Translate: ok = ok && whole && op.a < double(side); break;
    case AugmentOp::Scale: ok = op.a > 0 && op.a <= op.b; break;
    case AugmentOp::Crop: ok = whole && op.a >= 1 && op.a <= double(side); break;
    }
    if (!ok)
      return fail(fmt::format("augmentation `{}` does not fit images of {}x{}", op.str(), (*dims)[0], (*dims)[1]));
  }
  return {};
}

void mirror_image(ImageView img) {
  for (int64_t y = 0; y < img.h; ++y)
    for (int64_t x = 0; x < img.w / 2; ++x)
      for (int64_t k = 0; k < img.c; ++k)
        std::swap(img.at(y, x, k), img.at(y, img.w - 1 - x, k));
}

void translate_image(ImageView img, int64_t dx, int64_t dy) {
  // Output (x, y) = input (x - dx, y - dy): walk away from the source so
  // nothing is overwritten before it is read.
  auto walk = [](int64_t n, int64_t d, int64_t i) { return d > 0 ? n - 1 - i : i; };
  for (int64_t j = 0; j < img.h; ++j) {
    int64_t y = walk(img.h, dy, j);
    for (int64_t i = 0; i < img.w; ++i) {
      int64_t x = walk(img.w, dx, i), sx = x - dx, sy = y - dy;
      bool inside = sx >= 0 && sy >= 0 && sx < img.w && sy < img.h;
      for (int64_t k = 0; k < img.c; ++k)
        img.at(y, x, k) = inside ? img.at(sy, sx, k) : 0.0f;
    }
  }
}

void rotate_image(ImageView img, double degrees, std::vector<float> &scratch) {
  // Output pixel p samples the input at centre + R(a)(p - centre), where
  // R(a) = [cos -sin; sin cos] in (x, y) with y down; a = 90 maps output
  // (x, y) to input (W-1-y, x) on a square image: np.rot90's direction.
  double a = degrees * 3.14159265358979323846 / 180, cs = std::cos(a), sn = std::sin(a);
  double cx = double(img.w - 1) / 2, cy = double(img.h - 1) / 2;
  resample(img, scratch, [&](double x, double y) {
    double u = x - cx, v = y - cy;
    return std::pair{cx + u * cs - v * sn, cy + u * sn + v * cs};
  });
}

void scale_image(ImageView img, double factor, std::vector<float> &scratch) {
  double cx = double(img.w - 1) / 2, cy = double(img.h - 1) / 2;
  resample(img, scratch,
           [&](double x, double y) { return std::pair{cx + (x - cx) / factor, cy + (y - cy) / factor}; });
}

void crop_image(ImageView img, int64_t x0, int64_t y0, int64_t size, std::vector<float> &scratch) {
  // Output corners on the window's corner pixels: x -> x0 + x (size-1)/(W-1).
  double fx = img.w > 1 ? double(size - 1) / double(img.w - 1) : 0;
  double fy = img.h > 1 ? double(size - 1) / double(img.h - 1) : 0;
  resample(img, scratch, [&](double x, double y) { return std::pair{double(x0) + x * fx, double(y0) + y * fy}; });
}

void augment_image(ImageView img, const std::vector<AugmentOp> &ops, Pcg32 &rng, std::vector<float> &scratch) {
  for (const AugmentOp &op : ops) {
    switch (op.kind) {
    case AugmentOp::Mirror:
      if (rng.next_u32() & 1)
        mirror_image(img);
      break;
    case AugmentOp::Rotate: rotate_image(img, rng.uniform(-op.a, op.a), scratch); break;
    case AugmentOp::Translate: {
      auto span = uint32_t(2 * op.a + 1);
      int64_t dx = int64_t(rng.below(span)) - int64_t(op.a), dy = int64_t(rng.below(span)) - int64_t(op.a);
      translate_image(img, dx, dy);
      break;
    }
    case AugmentOp::Scale: scale_image(img, rng.uniform(op.a, op.b), scratch); break;
    case AugmentOp::Crop: {
      auto size = int64_t(op.a);
      int64_t x0 = rng.below(uint32_t(img.w - size + 1)), y0 = rng.below(uint32_t(img.h - size + 1));
      crop_image(img, x0, y0, size, scratch);
      break;
    }
    case AugmentOp::Noise:
      for (int64_t i = 0; i < img.size(); ++i)
        img.data[i] = float(double(img.data[i]) + op.a * rng.normal());
      break;
    }
  }
}

// The seed is mixed with "augment" in ASCII so the stream differs from the
// shuffling (Batcher) and initialisation streams of the same seed.
Pcg32 augment_rng(uint64_t seed) { return Pcg32(mix64(seed ^ 0x61756d656e74ULL)); }

} // namespace netc::rt
