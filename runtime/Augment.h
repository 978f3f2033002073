//===- Augment.h - Random perturbations of training images -----*- C++ -*-===//
//
// What a train block's `augment image: mirror, rotate(10), translate(2)`
// does at run time. The compiler checks the list and stores it in the model
// config as text (`augment.image = "mirror,rotate(10),translate(2)"`);
// parse_augment reads that text back. The trainer applies the transforms
// in order to every training example as its batch is gathered, drawing
// from one seeded PCG32 (ir/Random.h) whose state is checkpointed, so a
// resumed run draws the same numbers as an uninterrupted one. Held-out,
// eval and predict data are never augmented.
//
// An image is one example of shape [H, W] (grey) or [H, W, C] (channels
// last, as conv2d reads them), floats row-major; every channel of a pixel
// moves together. Coordinates are pixel centres, x to the right, y down;
// geometric transforms map each output pixel back to the input and sample
// there, reading 0 outside the image (zero fill):
//
//   mirror          with probability 1/2, x -> W-1-x (a horizontal flip)
//   rotate(deg)     angle a uniform in [-deg, deg] degrees, positive
//                   counter-clockwise as displayed, about the centre
//                   ((W-1)/2, (H-1)/2); bilinear
//   translate(px)   integer shifts dx, dy, each uniform in {-px, ..., px};
//                   exact (no interpolation)
//   scale(lo, hi)   factor s uniform in [lo, hi] about the centre, s > 1
//                   zooms in; bilinear
//   crop(size)      a size x size window at a uniform integer position
//                   inside the image, stretched back to H x W; bilinear
//                   with the window's corner pixels on the image's corners
//   noise(std)      adds independent N(0, std^2) to every value; no clamping
//
// Bilinear sampling: the four pixels around (x, y), weighted by the
// fractional parts; outside pixels count as 0. Sampling is done in double
// and rounded to float once, and a sample point within 1e-9 of a pixel
// centre is snapped to it, so a rotation by a multiple of 90 degrees moves
// pixels exactly.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Random.h" // header-only: the runtime does not link the IR
#include "runtime/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// One transform with its arguments (see above).
struct AugmentOp {
  enum Kind { Mirror, Rotate, Translate, Scale, Crop, Noise } kind = Mirror;
  double a = 0, b = 0;

  /// The op as the config spells it: "rotate(10)", "scale(0.9, 1.1)".
  std::string str() const;
  bool operator==(const AugmentOp &) const = default;
};

/// Reads a config list "mirror,rotate(10),translate(2)". Errors name the
/// position in the text; the compiler has already checked what it wrote,
/// so they mean a damaged model.
Expected<std::vector<AugmentOp>> parse_augment(const std::string &text);

/// The list back as config text (the inverse of parse_augment).
std::string augment_string(const std::vector<AugmentOp> &ops);

/// The height, width and channels of an example of shape [H, W] or
/// [H, W, C]; an error for any other rank.
Expected<std::vector<int64_t>> image_dims(std::span<const int64_t> example_shape);

/// Checks `ops` against images of per-example shape `example_shape`: the
/// rank (image_dims), and each op's arguments (rotate, translate, noise
/// >= 0, translate and crop integers, 0 < lo <= hi for scale, crop size at
/// most the image's smaller side).
Expected<void> check_augment(const std::vector<AugmentOp> &ops, std::span<const int64_t> example_shape);

/// One image of h x w pixels, c channels, row-major; the views below point
/// into a caller's buffer.
struct ImageView {
  float *data;
  int64_t h, w, c;
  float &at(int64_t y, int64_t x, int64_t k) const { return data[(y * w + x) * c + k]; }
  int64_t size() const { return h * w * c; }
};

/// The deterministic transforms, for the sampler above and the tests.
void mirror_image(ImageView img);
void translate_image(ImageView img, int64_t dx, int64_t dy);
/// Rotates by `degrees` (counter-clockwise as displayed) about the centre.
void rotate_image(ImageView img, double degrees, std::vector<float> &scratch);
/// Zooms by `factor` about the centre.
void scale_image(ImageView img, double factor, std::vector<float> &scratch);
/// Stretches the size x size window at (x0, y0) to the whole image.
void crop_image(ImageView img, int64_t x0, int64_t y0, int64_t size, std::vector<float> &scratch);

/// Applies `ops` in order to one image, drawing their random parameters
/// from `rng` (each op draws the same count of numbers whatever it picks).
void augment_image(ImageView img, const std::vector<AugmentOp> &ops, Pcg32 &rng, std::vector<float> &scratch);

/// The augmentation generator of a run with `seed`: independent of the
/// shuffling and initialisation generators of the same seed.
Pcg32 augment_rng(uint64_t seed);

} // namespace netc::rt
