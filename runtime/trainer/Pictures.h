//===- Pictures.h - Saliency, filters, activations, top-k as PNG -*- C++ -*-===//
//
// The trainer's "seeing inside the net" commands (docs/trainer.md), over a
// Model whose parameters came from a checkpoint:
//
//   saliency     d(class score)/d(input) from the compiled @saliency, or
//                d(loss)/d(input) from @saliency_loss; one row per example:
//                the input | a heat map of |gradient|. --stats measures the
//                share of gradient mass on object pixels (input != 0).
//   filters      a conv2d kernel [KH, KW, C, F] as tiles: one per filter
//                when C = 1 (or with channel_mean), else one row per filter
//                and one column per input channel.
//   activations  one named value (an output of the compiled @inspect) for
//                one example: one tile per channel of an [H, W, C] map.
//   topk         the k examples whose unit (an index on the value's last
//                axis, maxed over the other axes) is largest.
//
// Each returns the report the command prints: what was written and how to
// read it. Every failure is an Error: unknown names list the valid ones
// with a did-you-mean, indices out of range say the range, inputs that are
// not images say so.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"
#include "runtime/Image.h"
#include "runtime/trainer/Loop.h"
#include "runtime/trainer/Model.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// The flags of the picture commands.
struct PictureRequest {
  std::string output;       // -o FILE.png; empty: no picture (saliency --stats)
  std::string value, layer; // activations/topk; filters
  int64_t index = 0, count = 8, unit = 0, k = 16;
  std::optional<int64_t> cls; // saliency --class; unset: the predicted class
  bool loss = false, stats = false, channel_mean = false;
};

/// An image-shaped input: [H, W] or [H, W, C] with C = 1 or 3.
struct ImageShape {
  int64_t height = 0, width = 0, channels = 1;
};

/// The image shape of the per-example input shape `shape`, or an error
/// saying why input `name` cannot be shown as a picture.
Expected<ImageShape> image_shape(std::span<const int64_t> shape, const std::string &name);

/// "unknown <what> `name`; the <what>s are: a, b, c; did you mean `b`?"
Error unknown_name(const std::string &what, const std::string &name, const std::vector<std::string> &valid);

/// Share of |gradient| on object pixels (input != 0) and the object's share
/// of the pixels, for one example (channels summed per pixel).
struct SaliencyMass {
  double object_mass = 0, object_area = 0;
};
SaliencyMass saliency_mass(std::span<const float> input, std::span<const float> grad);

/// The tiles of a conv2d kernel `w` of shape [KH, KW, C, F] (see above),
/// grey with 0 at mid grey on one scale for the whole layer; `columns` is
/// set to the layout's tiles per row.
std::vector<Image> filter_tiles(std::span<const float> w, std::span<const int64_t> shape, bool channel_mean,
                                int64_t &columns);

/// The tiles of one example's value of per-example shape `shape`: one per
/// channel of [H, W, C], one of [H, W], one roughly square tile of a vector
/// [K]; one MinMax scale over all tiles so channels compare.
Expected<std::vector<Image>> activation_tiles(std::span<const float> v, std::span<const int64_t> shape,
                                              const std::string &name);

/// An example as a picture (grey or RGB), values in [0, 1] as they are,
/// others by their own min and max.
Image input_image(std::span<const float> x, const ImageShape &s);

Expected<std::string> saliency_command(Model &m, const DataBinding &d, const Dataset &data,
                                       const PictureRequest &r);
Expected<std::string> filters_command(const Model &m, const PictureRequest &r);
Expected<std::string> activations_command(Model &m, const DataBinding &d, const Dataset &data,
                                          const PictureRequest &r);
Expected<std::string> topk_command(Model &m, const DataBinding &d, const Dataset &data, const PictureRequest &r);

} // namespace netc::rt
