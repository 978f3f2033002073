//===- Pretrained.h - Parameters initialised from files -------*- C++ -*-===//
//
// A train block's `init PATTERN from SOURCE` (frontend/Transfer.cpp) marks
// parameters with init.from / init.path / init.tensor / init.vocab. A fresh
// `train` run initialises every parameter from the seed as usual, then
// load_pretrained overwrites the marked ones:
//
//   safetensors   the tensor `init.tensor` of the file (any safetensors
//                 file: a netc checkpoint of another model, or one saved by
//                 PyTorch); each file is read and checked once
//   npy           the file's single array
//   glove         the rows of vocabulary words the GloVe file lists; other
//                 rows keep their seeded random values and are counted
//
// Paths resolve as data paths do (runtime/Dataset.h): the current directory,
// the .net file's directory, $NETC_DATA, /usr/share/datasets. Tensors must
// be F32 / float32 of exactly the parameter's shape; a mismatch names the
// tensor, the parameter and the file. Nothing is written to the model
// unless every file loads. A resumed run does not load (its checkpoint
// holds every parameter).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"
#include "runtime/trainer/Model.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// One parameter to fill, and where from (the fields of ParamDesc).
struct PretrainedTarget {
  std::string name;
  std::vector<int64_t> shape;
  /// The random init its values already hold (for the GloVe message).
  std::string init;
  std::string from, path, tensor, vocab;
  std::span<float> values;
};

/// Fills every target from its file; returns one message per file loaded,
/// ready to print. `seed` is only reported (for the words GloVe lacks).
Expected<std::vector<std::string>> load_pretrained(std::span<const PretrainedTarget> targets,
                                                   const std::string &source_dir, uint64_t seed);

/// load_pretrained over every parameter of `model` with an init.from.
Expected<std::vector<std::string>> load_pretrained(Model &model, const std::string &source_dir,
                                                   uint64_t seed);

} // namespace netc::rt
