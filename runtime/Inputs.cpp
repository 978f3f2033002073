//===- Inputs.cpp - Model inputs from IDX, NPY or image files -------------===//
//
// This file implements read_inputs: the format by file name, then the
// shape checks that tie the file to the model's input.
//
//===----------------------------------------------------------------------===//
#include "runtime/Inputs.h"

#include "runtime/Image.h"
#include "runtime/Npy.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc::rt {

namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  if (s.size() < suffix.size())
    return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

Expected<HostArray> read_npy_inputs(const std::string &path, std::span<const int64_t> example,
                                    std::optional<int64_t> limit) {
  Expected<NpyArray> a = read_npy(path);
  if (!a)
    return Error{a.error()};
  int64_t per = num_elements(example);
  std::vector<int64_t> shape = a->shape;
  // [...example]: one example without the leading N.
  if (shape.size() == example.size() && std::equal(shape.begin(), shape.end(), example.begin()))
    shape.insert(shape.begin(), 1);
  if (shape.empty() || (shape.size() == 1 && per != 1) || num_elements(std::span(shape).subspan(1)) != per) {
    std::string want = shape_list(example);
    return fail(fmt::format("{}: array of shape {} does not hold examples of the model's input shape {}; expected "
                            "[N, {} or {}",
                            path, shape_list(a->shape), want, want.substr(1), want));
  }
  HostArray out{shape, a->to_floats()};
  if (a->kind == NpyKind::UInt && a->item_size == 1)
    for (float &v : out.data)
      v /= 255.0f;
  if (limit)
    out.keep_first(*limit);
  return out;
}

Expected<HostArray> read_image_input(const std::string &path, std::span<const int64_t> example) {
  bool grey = example.size() == 2 || (example.size() == 3 && example[2] == 1);
  bool rgb = example.size() == 3 && example[2] == 3;
  if (!grey && !rgb)
    return fail(fmt::format("{}: an image feeds an input of shape [H, W], [H, W, 1] or [H, W, 3], but the model's "
                            "input is {}",
                            path, shape_list(example)));
  Expected<Image> img = read_image(path, grey ? 1 : 3);
  if (!img)
    return Error{img.error()};
  if (img->height != example[0] || img->width != example[1])
    return fail(fmt::format("{}: the image is {}x{} (width x height) but the model's input is {}x{}; resize it "
                            "first, e.g. `convert {} -resize {}x{}! small.png`",
                            path, img->width, img->height, example[1], example[0], path, example[1], example[0]));
  HostArray out;
  out.shape.push_back(1);
  out.shape.insert(out.shape.end(), example.begin(), example.end());
  out.data.reserve(img->pixels.size());
  for (uint8_t p : img->pixels)
    out.data.push_back(float(p) / 255.0f);
  return out;
}

} // namespace

Expected<HostArray> read_inputs(const std::string &path, std::span<const int64_t> example,
                                std::optional<int64_t> limit) {
  if (ends_with(path, ".npy") || ends_with(path, ".npy.gz"))
    return read_npy_inputs(path, example, limit);
  for (const char *ext : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm"})
    if (ends_with(path, ext))
      return read_image_input(path, example);
  return load_idx_floats(path, true, limit);
}

} // namespace netc::rt
