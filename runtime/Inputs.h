//===- Inputs.h - Model inputs from IDX, NPY or image files ----*- C++ -*-===//
//
// What `predict --input FILE` reads, chosen by the file name:
//
//   *.npy, *.npy.gz      an .npy array (Npy.h) of shape [N, ...example] or
//                        [...example] (one example); uint8 arrays are divided
//                        by 255 like IDX u8 images, every other dtype is
//                        taken as is
//   *.png, *.jpg, *.jpeg, *.bmp, *.pgm, *.ppm
//                        one image (Image.h read_image): grey for an input of
//                        shape [H, W] or [H, W, 1], RGB for [H, W, 3]; it must
//                        be exactly H x W (no resizing: a resized picture is
//                        not what the model was trained on, so that is the
//                        user's explicit step); pixels divided by 255
//   anything else        IDX, plain or gzip (Idx.h), u8 divided by 255
//
// The example shape must match the model's (or have as many elements, as
// check_dataset allows); errors name the file and both shapes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"
#include "runtime/Idx.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace netc::rt {

/// Reads `path` as described above for a model input of per-example shape
/// `example`, keeping the first `limit` examples when set.
Expected<HostArray> read_inputs(const std::string &path, std::span<const int64_t> example,
                                std::optional<int64_t> limit = std::nullopt);

} // namespace netc::rt
