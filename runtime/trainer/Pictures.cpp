//===- Pictures.cpp - Saliency, filters, activations, top-k as PNG --------===//
//
// This file implements the picture commands of Pictures.h over the compiled
// @saliency, @saliency_loss and @inspect functions and the parameter slots.
// Examples are copied straight into the function's input slot, a batch at a
// time; the pictures are laid out with runtime/Image.h.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Pictures.h"

#include "ir/Spelling.h"
#include "runtime/Metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <numeric>

namespace netc::rt {

namespace {

/// Tiles per row of every grid the commands draw.
constexpr int64_t kColumns = 8;
/// Rows of a saliency picture at most (PNG height stays modest).
constexpr int64_t kMaxSaliencyRows = 32;

std::string join(const std::vector<std::string> &names) {
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : ", ") + n;
  return s;
}

/// The smallest integer factor that makes `size` pixels at least `target`.
int64_t upscale_factor(int64_t size, int64_t target) { return std::max<int64_t>(1, (target + size - 1) / size); }

/// The slot of `fn`'s argument or output `name`, or an error naming the
/// function (the model description lacks what netc always emits: a bug).
Expected<int> slot_named(const FnDesc &fn, const std::vector<SlotRef> &refs, const std::string &name) {
  for (const SlotRef &r : refs)
    if (r.name == name)
      return r.slot;
  return fail(fmt::format("`{}` has no slot `{}` (the model description is inconsistent)", fn.name, name));
}

/// The function `name`, described and linked, or an error saying why not.
Expected<const FnDesc *> function_for(const Model &m, const std::string &name, const std::string &why) {
  const FnDesc *fn = m.desc().function(name);
  if (!fn || !m.has_function(name))
    return fail(fmt::format("model `{}` has no `{}` function{}", m.desc().name, name, why));
  return fn;
}

Expected<void> check_index(const char *flag, int64_t i, int64_t n, const Dataset &data) {
  if (i < 0 || i >= n)
    return fail(fmt::format("{} {} is out of range: {} holds {} examples (0..{})", flag, i, data.images_path, n,
                            n - 1));
  return {};
}

/// Per-example shape of slot `slot` (its shape without the leading N).
std::vector<int64_t> example_shape(const Model &m, int slot) {
  const std::vector<int64_t> &s = m.desc().slots[size_t(slot)].shape;
  return std::vector<int64_t>(s.begin() + (s.empty() ? 0 : 1), s.end());
}

/// Copies examples [first, first + k) of `data` into slot `slot`.
void copy_inputs(Model &m, int slot, const Dataset &data, int64_t first, int64_t k) {
  size_t row = size_t(data.example_size());
  std::copy_n(data.inputs.data.data() + size_t(first) * row, size_t(k) * row, m.f32(slot));
}

/// One example's input values.
std::span<const float> example(const Dataset &data, int64_t i) {
  size_t row = size_t(data.example_size());
  return std::span<const float>(data.inputs.data).subspan(size_t(i) * row, row);
}

/// The @inspect value `name`: its slot, or the list of valid names.
Expected<int> inspect_value(const Model &m, const std::string &name) {
  Expected<const FnDesc *> fn =
      function_for(m, "inspect", " (it has no named values; rebuild it with this netc)");
  if (!fn)
    return Error{fn.error()};
  std::vector<std::string> names;
  for (const SlotRef &o : (*fn)->outputs) {
    if (o.name == name)
      return o.slot;
    names.push_back(o.name);
  }
  if (name.empty())
    return fail(fmt::format("--value is required; the named values of `{}` are: {}", m.desc().name, join(names)));
  return unknown_name("named value", name, names);
}

/// What activations and topk need: the @inspect value's slot, and image inputs.
struct ValueOfImages {
  int slot;
  ImageShape shape;
};

Expected<ValueOfImages> value_of_images(const Model &m, const DataBinding &d, const std::string &value) {
  Expected<int> slot = inspect_value(m, value);
  if (!slot)
    return Error{slot.error()};
  Expected<ImageShape> shape = image_shape(d.input_shape, d.input_name);
  if (!shape)
    return Error{shape.error()};
  return ValueOfImages{*slot, *shape};
}

/// Runs @inspect on examples [first, first + k) into its output slots.
Expected<void> run_inspect(Model &m, const DataBinding &d, const Dataset &data, int64_t first, int64_t k) {
  const FnDesc &fn = *m.desc().function("inspect");
  Expected<int> in = slot_named(fn, fn.args, d.input_name);
  if (!in)
    return Error{in.error()};
  copy_inputs(m, *in, data, first, k);
  return m.call("inspect", k);
}

std::string label_text(const Dataset &data, int64_t i) {
  return data.labels_path.empty() ? std::string("-") : std::to_string(data.labels[size_t(i)]);
}

} // namespace

//===----------------------------------------------------------------------===//
// Pure helpers
//===----------------------------------------------------------------------===//

Expected<ImageShape> image_shape(std::span<const int64_t> shape, const std::string &name) {
  std::string type = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    type += (i ? ", " : "") + std::to_string(shape[i]);
  type += "]";
  if (shape.size() == 2)
    return ImageShape{shape[0], shape[1], 1};
  if (shape.size() == 3 && (shape[2] == 1 || shape[2] == 3))
    return ImageShape{shape[0], shape[1], shape[2]};
  return fail(fmt::format("input `{}` has the per-example shape {}, which is not an image ([H, W] or [H, W, C] with "
                          "C = 1 or 3); these pictures need image inputs",
                          name, type));
}

Error unknown_name(const std::string &what, const std::string &name, const std::vector<std::string> &valid) {
  std::string hint = did_you_mean(name, valid);
  return fail(fmt::format("unknown {} `{}`; the {}s are: {}{}", what, name, what, join(valid),
                          hint.empty() ? "" : "; " + hint));
}

SaliencyMass saliency_mass(std::span<const float> input, std::span<const float> grad) {
  double total = 0, on_object = 0;
  int64_t object = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    double g = std::abs(double(grad[i]));
    total += g;
    if (input[i] != 0)
      on_object += g, ++object;
  }
  SaliencyMass s;
  s.object_mass = total > 0 ? on_object / total : 0;
  s.object_area = input.empty() ? 0 : double(object) / double(input.size());
  return s;
}

std::vector<Image> filter_tiles(std::span<const float> w, std::span<const int64_t> shape, bool channel_mean,
                                int64_t &columns) {
  int64_t kh = shape[0], kw = shape[1], c = shape[2], f = shape[3];
  int64_t factor = upscale_factor(std::max(kh, kw), 24);
  bool per_channel = c > 1 && !channel_mean;
  // tile(filter, channel) or the mean over channels, as KH x KW values.
  auto tile_values = [&](int64_t filter, int64_t channel) {
    std::vector<float> v(size_t(kh * kw), 0.0f);
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        double sum = 0;
        int64_t c0 = per_channel ? channel : 0, c1 = per_channel ? channel + 1 : c;
        for (int64_t ch = c0; ch < c1; ++ch)
          sum += w[size_t(((y * kw + x) * c + ch) * f + filter)];
        v[size_t(y * kw + x)] = float(sum / double(c1 - c0));
      }
    return v;
  };
  std::vector<std::vector<float>> all;
  float extent = 0;
  for (int64_t filter = 0; filter < f; ++filter)
    for (int64_t ch = 0; ch < (per_channel ? c : 1); ++ch) {
      all.push_back(tile_values(filter, ch));
      for (float v : all.back())
        extent = std::max(extent, std::abs(v));
    }
  std::vector<Image> tiles;
  for (std::vector<float> &v : all) {
    // One symmetric scale for the layer: the extremes pinned on every tile.
    v.push_back(extent), v.push_back(-extent);
    Image t = grey_image(v, kw, kh, Scale::Symmetric);
    tiles.push_back(t.upscale(factor));
  }
  columns = per_channel ? c : std::min<int64_t>(kColumns, f);
  return tiles;
}

Expected<std::vector<Image>> activation_tiles(std::span<const float> v, std::span<const int64_t> shape,
                                              const std::string &name) {
  int64_t h, w, c;
  if (shape.size() == 3)
    h = shape[0], w = shape[1], c = shape[2];
  else if (shape.size() == 2)
    h = shape[0], w = shape[1], c = 1;
  else if (shape.size() == 1)
    w = int64_t(std::ceil(std::sqrt(double(shape[0])))), h = (shape[0] + w - 1) / w, c = 1;
  else
    return fail(fmt::format("value `{}` has {} dimensions per example; activation pictures take [K], [H, W] or "
                            "[H, W, C]",
                            name, shape.size()));
  int64_t n = num_elements(shape);
  float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  int64_t factor = upscale_factor(std::max(h, w), 48);
  std::vector<Image> tiles;
  for (int64_t ch = 0; ch < c; ++ch) {
    // A vector's tail past K is shown at the minimum (black).
    std::vector<float> t(size_t(h * w), lo);
    for (int64_t i = 0; i < h * w; ++i)
      if (i * c + ch < n)
        t[size_t(i)] = v[size_t(i * c + ch)];
    t.push_back(lo), t.push_back(hi); // one scale for all channels
    tiles.push_back(grey_image(t, w, h, Scale::MinMax).upscale(factor));
  }
  return tiles;
}

Image input_image(std::span<const float> x, const ImageShape &s) {
  bool unit = std::all_of(x.begin(), x.end(), [](float v) { return v >= 0 && v <= 1; });
  if (s.channels == 1)
    return grey_image(x, s.width, s.height, unit ? Scale::Unit : Scale::MinMax);
  Image rgb(s.width, s.height, 3);
  for (int64_t ch = 0; ch < 3; ++ch) {
    std::vector<float> plane(size_t(s.width * s.height));
    for (size_t i = 0; i < plane.size(); ++i)
      plane[i] = x[i * 3 + size_t(ch)];
    Image g = grey_image(plane, s.width, s.height, unit ? Scale::Unit : Scale::MinMax);
    for (size_t i = 0; i < plane.size(); ++i)
      rgb.pixels[i * 3 + size_t(ch)] = g.pixels[i];
  }
  return rgb;
}

//===----------------------------------------------------------------------===//
// saliency
//===----------------------------------------------------------------------===//

namespace {

/// |gradient| per pixel (summed over channels) of one example.
std::vector<float> pixel_magnitude(std::span<const float> g, int64_t channels) {
  std::vector<float> out(g.size() / size_t(channels), 0.0f);
  for (size_t i = 0; i < g.size(); ++i)
    out[i / size_t(channels)] += std::abs(g[i]);
  return out;
}

/// Writes a one-hot seed per example: the class `cls`, else the argmax of
/// @predict's output for it (the predicted class).
Expected<std::vector<int64_t>> seed_classes(Model &m, const DataBinding &d, const Dataset &data, int64_t first,
                                            int64_t k, int64_t width, std::optional<int64_t> cls) {
  std::vector<int64_t> classes(size_t(k), cls.value_or(0));
  if (cls)
    return classes;
  copy_inputs(m, d.predict.input, data, first, k);
  if (Expected<void> ok = m.call("predict", k); !ok)
    return Error{ok.error()};
  int64_t row = m.elements(d.predict_output) / k;
  for (int64_t i = 0; i < k; ++i)
    classes[size_t(i)] =
        int64_t(argmax(std::span<const float>(m.f32(d.predict_output) + i * row, size_t(row)))) % width;
  return classes;
}

} // namespace

Expected<std::string> saliency_command(Model &m, const DataBinding &d, const Dataset &data,
                                       const PictureRequest &r) {
  const char *name = r.loss ? "saliency_loss" : "saliency";
  Expected<const FnDesc *> fnp =
      function_for(m, name, r.loss ? " (it needs a loss and f32 inputs)"
                                   : " (netc builds input gradients only for models whose inputs are all f32)");
  if (!fnp)
    return Error{fnp.error()};
  const FnDesc &fn = **fnp;
  Expected<ImageShape> shape = image_shape(d.input_shape, d.input_name);
  if (!shape)
    return Error{shape.error()};
  int64_t n = data.size();
  if (Expected<void> ok = check_index("--index", r.index, n, data); !ok)
    return Error{ok.error()};
  if (r.count < 1 || r.index + r.count > n)
    return fail(fmt::format("--count {} from --index {} is out of range: {} holds {} examples (0..{})", r.count,
                            r.index, data.images_path, n, n - 1));
  if (r.loss && data.labels_path.empty())
    return fail("--loss needs labels: pass --input IMAGES LABELS, or leave out --input for the held-out set");
  Expected<int> in = slot_named(fn, fn.args, d.input_name);
  Expected<int> grad = in ? slot_named(fn, fn.outputs, "grad." + d.input_name) : Expected<int>(Error{in.error()});
  if (!grad)
    return Error{grad.error()};
  int seed = -1, label = -1;
  int64_t width = 0;
  for (const SlotRef &a : fn.args) {
    if (a.name == "score.seed")
      seed = a.slot, width = num_elements(example_shape(m, a.slot));
    else if (a.slot != *in)
      label = a.slot;
  }
  if ((r.loss && label < 0) || (!r.loss && seed < 0))
    return fail(fmt::format("`{}` lacks its {} argument (the model description is inconsistent)", name,
                            r.loss ? "label" : "score.seed"));
  if (r.cls && (*r.cls < 0 || *r.cls >= width))
    return fail(fmt::format("--class {} is out of range: the score has {} classes (0..{})", *r.cls, width, width - 1));

  int64_t rows = std::min(r.count, kMaxSaliencyRows), factor = upscale_factor(shape->height, 112);
  std::vector<Image> row_images;
  std::string lines;
  double mass = 0, area = 0;
  int64_t above = 0;
  for (int64_t first = r.index; first < r.index + r.count; first += m.max_batch()) {
    int64_t k = std::min(m.max_batch(), r.index + r.count - first);
    std::vector<int64_t> classes;
    if (!r.loss) {
      Expected<std::vector<int64_t>> c = seed_classes(m, d, data, first, k, width, r.cls);
      if (!c)
        return Error{c.error()};
      classes = std::move(*c);
      m.bind_batch(k);
      std::fill_n(m.f32(seed), size_t(k * width), 0.0f);
      for (int64_t i = 0; i < k; ++i)
        m.f32(seed)[i * width + classes[size_t(i)]] = 1.0f;
    } else {
      m.bind_batch(k);
      std::copy_n(data.labels.begin() + first, k, m.i32(label));
    }
    copy_inputs(m, *in, data, first, k);
    if (Expected<void> ok = m.call(name, k); !ok)
      return Error{ok.error()};
    size_t row = size_t(data.example_size());
    for (int64_t i = 0; i < k; ++i) {
      int64_t ex = first + i;
      std::span<const float> g(m.f32(*grad) + size_t(i) * row, row), x = example(data, ex);
      SaliencyMass s = saliency_mass(x, g);
      mass += s.object_mass, area += s.object_area, above += s.object_mass > s.object_area;
      if (ex - r.index >= rows)
        continue;
      std::vector<float> heat = pixel_magnitude(g, shape->channels);
      Image pair[] = {input_image(x, *shape).upscale(factor),
                      heat_image(heat, shape->width, shape->height).upscale(factor)};
      row_images.push_back(hconcat(pair));
      if (!r.stats)
        lines += fmt::format("  example {}: label {}, {} {}, max |gradient| {:.4g}, mass on object {:.1f} %, "
                             "object area {:.1f} %\n",
                             ex, label_text(data, ex), r.loss ? "loss of label" : "score of class",
                             r.loss ? label_text(data, ex) : std::to_string(classes[size_t(i)]),
                             *std::max_element(heat.begin(), heat.end()), 100 * s.object_mass, 100 * s.object_area);
    }
  }
  std::string what = r.loss ? "d loss / d " + d.input_name
                            : fmt::format("d score[{}] / d {}", r.cls ? std::to_string(*r.cls) : "predicted class",
                                          d.input_name);
  std::string report = fmt::format("saliency ({}, @{}) of examples {}..{} of {}\n", what, name, r.index,
                                   r.index + r.count - 1, data.images_path) +
                       lines;
  if (r.stats) {
    mass /= double(r.count), area /= double(r.count);
    // Mean |gradient| per object pixel over that per background pixel.
    double per_pixel = mass * (1 - area) / std::max(1e-12, area * (1 - mass));
    report += fmt::format("saliency mass on object pixels (input != 0): {:.2f} % of |gradient|; object area: "
                          "{:.2f} % of the pixels; mean over {} examples, {} with mass share > area share; "
                          "|gradient| per object pixel {:.2f}x that per background pixel\n",
                          100 * mass, 100 * area, r.count, above, per_pixel);
  }
  if (!r.output.empty()) {
    Image picture = grid(row_images, 1);
    if (Expected<void> ok = write_png(r.output, picture); !ok)
      return Error{ok.error()};
    report += fmt::format("wrote {}: {}x{} pixels, {} rows: the input | heat map of |{}| (black 0, white the "
                          "row's maximum){}\n",
                          r.output, picture.width, picture.height, rows, what,
                          rows < r.count ? fmt::format("; the first {} of {} examples", rows, r.count) : "");
  }
  return report;
}

//===----------------------------------------------------------------------===//
// filters
//===----------------------------------------------------------------------===//

namespace {

bool is_conv_kernel(const Model &m, const ParamDesc &p) {
  return !p.is_state && m.desc().slots[size_t(p.slot)].shape.size() == 4;
}

/// The conv2d kernel `layer` names: a parameter, `<layer>.w`, or the only
/// kernel under `<layer>.`.
Expected<const ParamDesc *> conv_kernel(const Model &m, const std::string &layer) {
  std::vector<std::string> kernels, candidates;
  for (const ParamDesc &p : m.desc().params)
    if (is_conv_kernel(m, p)) {
      kernels.push_back(p.name);
      candidates.push_back(p.name);
      if (p.name.size() > 2 && p.name.ends_with(".w"))
        candidates.push_back(p.name.substr(0, p.name.size() - 2));
    }
  if (kernels.empty())
    return fail(fmt::format("model `{}` has no conv2d kernels (parameters of shape [KH, KW, C, F])", m.desc().name));
  if (layer.empty())
    return fail("--layer is required; the conv2d kernels are: " + join(kernels));
  const ParamDesc *p = m.desc().param(layer);
  if (!p)
    p = m.desc().param(layer + ".w");
  std::vector<const ParamDesc *> under;
  if (!p)
    for (const ParamDesc &q : m.desc().params)
      if (is_conv_kernel(m, q) && q.name.starts_with(layer + "."))
        under.push_back(&q);
  if (!p && under.size() == 1)
    p = under[0];
  if (under.size() > 1)
    return fail(fmt::format("--layer {} is ambiguous: it holds the conv2d kernels {}; name one", layer,
                            join([&] {
                              std::vector<std::string> v;
                              for (const ParamDesc *q : under)
                                v.push_back(q->name);
                              return v;
                            }())));
  if (!p) {
    std::string hint = did_you_mean(layer, candidates);
    return fail(fmt::format("unknown layer or parameter `{}`; the conv2d kernels are: {}{}", layer, join(kernels),
                            hint.empty() ? "" : "; " + hint));
  }
  if (!is_conv_kernel(m, *p))
    return fail(fmt::format("`{}` is {}, not a conv2d kernel [KH, KW, C, F]; the conv2d kernels are: {}", p->name,
                            slot_type_string(m.desc().slots[size_t(p->slot)]), join(kernels)));
  return p;
}

} // namespace

Expected<std::string> filters_command(const Model &m, const PictureRequest &r) {
  Expected<const ParamDesc *> p = conv_kernel(m, r.layer);
  if (!p)
    return Error{p.error()};
  const std::vector<int64_t> &shape = m.desc().slots[size_t((*p)->slot)].shape;
  std::span<const float> w(m.f32((*p)->slot), size_t(num_elements(shape)));
  int64_t columns = 0;
  std::vector<Image> tiles = filter_tiles(w, shape, r.channel_mean, columns);
  Image picture = grid(tiles, columns);
  if (Expected<void> ok = write_png(r.output, picture); !ok)
    return Error{ok.error()};
  float extent = 0;
  for (float v : w)
    extent = std::max(extent, std::abs(v));
  std::string layout =
      shape[2] == 1 || r.channel_mean
          ? fmt::format("{} filters {}x{}{}, {} per row", shape[3], shape[0], shape[1],
                        shape[2] > 1 ? fmt::format(" (mean over {} input channels)", shape[2]) : "", columns)
          : fmt::format("{} rows (filters) x {} columns (input channels) of {}x{} tiles", shape[3], shape[2], shape[0],
                        shape[1]);
  return fmt::format("wrote {}: {}x{} pixels, {} of `{}` {}; mid grey = 0, white/black = +/-{:.4g} (largest "
                     "|weight| of the layer)\n",
                     r.output, picture.width, picture.height, layout, (*p)->name,
                     slot_type_string(m.desc().slots[size_t((*p)->slot)]), extent);
}

//===----------------------------------------------------------------------===//
// activations, topk
//===----------------------------------------------------------------------===//

Expected<std::string> activations_command(Model &m, const DataBinding &d, const Dataset &data,
                                          const PictureRequest &r) {
  Expected<ValueOfImages> req = value_of_images(m, d, r.value);
  if (!req)
    return Error{req.error()};
  if (Expected<void> ok = check_index("--index", r.index, data.size(), data); !ok)
    return Error{ok.error()};
  if (Expected<void> ok = run_inspect(m, d, data, r.index, 1); !ok)
    return Error{ok.error()};
  std::vector<int64_t> vshape = example_shape(m, req->slot);
  std::span<const float> v(m.f32(req->slot), size_t(num_elements(vshape)));
  Expected<std::vector<Image>> tiles = activation_tiles(v, vshape, r.value);
  if (!tiles)
    return Error{tiles.error()};
  int64_t columns = std::min<int64_t>(kColumns, int64_t(tiles->size()));
  Image panels[] = {input_image(example(data, r.index), req->shape).upscale(upscale_factor(req->shape.height, 112)),
                    grid(*tiles, columns)};
  Image picture = hconcat(panels);
  if (Expected<void> ok = write_png(r.output, picture); !ok)
    return Error{ok.error()};
  // The channels in order of their strongest response.
  int64_t channels = vshape.size() == 3 ? vshape[2] : 1;
  std::vector<float> peak(size_t(channels), -INFINITY);
  for (size_t i = 0; i < v.size(); ++i)
    peak[i % size_t(channels)] = std::max(peak[i % size_t(channels)], v[i]);
  std::vector<int64_t> order(static_cast<size_t>(channels));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return peak[size_t(a)] > peak[size_t(b)]; });
  std::string strongest;
  for (size_t i = 0; i < std::min<size_t>(5, order.size()); ++i)
    strongest += fmt::format("{}{} ({:.3g})", i ? ", " : "", order[i], peak[size_t(order[i])]);
  std::string shape_text = slot_type_string(m.desc().slots[size_t(req->slot)]);
  return fmt::format("wrote {}: {}x{} pixels: example {} of {} (label {}) | {} tile{} of `{}` {}, {} per row; one "
                     "scale: black = {:.4g}, white = {:.4g}\nstrongest channels (peak): {}\n",
                     r.output, picture.width, picture.height, r.index, data.images_path, label_text(data, r.index),
                     tiles->size(), tiles->size() == 1 ? "" : "s", r.value, shape_text, columns,
                     *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()), strongest);
}

Expected<std::string> topk_command(Model &m, const DataBinding &d, const Dataset &data, const PictureRequest &r) {
  Expected<ValueOfImages> req = value_of_images(m, d, r.value);
  if (!req)
    return Error{req.error()};
  std::vector<int64_t> vshape = example_shape(m, req->slot);
  int64_t units = vshape.empty() ? 1 : vshape.back(), n = data.size();
  if (r.unit < 0 || r.unit >= units)
    return fail(fmt::format("--unit {} is out of range: `{}` is {}, so units (its last axis) are 0..{}", r.unit,
                            r.value, slot_type_string(m.desc().slots[size_t(req->slot)]), units - 1));
  if (r.k < 1 || r.k > n)
    return fail(fmt::format("--k {} is out of range: {} holds {} examples", r.k, data.images_path, n));
  // Activation of an example: the unit's maximum over the other axes.
  std::vector<float> act(static_cast<size_t>(n));
  int64_t per = num_elements(vshape);
  for (int64_t first = 0; first < n; first += m.max_batch()) {
    int64_t k = std::min(m.max_batch(), n - first);
    if (Expected<void> ok = run_inspect(m, d, data, first, k); !ok)
      return Error{ok.error()};
    for (int64_t i = 0; i < k; ++i) {
      const float *v = m.f32(req->slot) + i * per;
      float best = -INFINITY;
      for (int64_t j = r.unit; j < per; j += units)
        best = std::max(best, v[j]);
      act[size_t(first + i)] = best;
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return act[size_t(a)] > act[size_t(b)]; });
  order.resize(size_t(r.k));
  std::vector<Image> tiles;
  std::string table = "rank example activation label\n";
  for (size_t i = 0; i < order.size(); ++i) {
    tiles.push_back(input_image(example(data, order[i]), req->shape).upscale(upscale_factor(req->shape.height, 56)));
    table += fmt::format("{:>4} {:>7} {:>10.4f} {:>5}\n", i + 1, order[i], act[size_t(order[i])],
                         label_text(data, order[i]));
  }
  Image picture = grid(tiles, std::min<int64_t>(kColumns, r.k));
  if (Expected<void> ok = write_png(r.output, picture); !ok)
    return Error{ok.error()};
  return fmt::format("top {} of {} examples of {} by unit {} of `{}` {} (its maximum over the other axes):\n", r.k, n,
                     data.images_path, r.unit, r.value, slot_type_string(m.desc().slots[size_t(req->slot)])) +
         table +
         fmt::format("wrote {}: {}x{} pixels, {} per row, in rank order\n", r.output, picture.width, picture.height,
                     std::min<int64_t>(kColumns, r.k));
}

} // namespace netc::rt
