//===- Dataset.h - Labelled examples loaded from IDX files -----*- C++ -*-===//
//
// A Dataset is what a `train` block's `data = idx(images, labels)` names:
// N input examples (floats, row-major) and N int32 class labels. Loading
// checks the two files against each other; `check_dataset` checks them
// against the model (per-example shape, class count) so that a mismatch is
// reported before the first step, naming the file and the model's input.
//
// Paths in a .net file are resolved by `resolve_data_path`, in this order:
//   1. an absolute path, as is;
//   2. relative to the current directory;
//   3. relative to the .net file's directory;
//   4. relative to each directory in $NETC_DATA (colon-separated);
//   5. relative to /usr/share/datasets (Debian's dataset-* packages).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"
#include "runtime/Idx.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// Where Debian's dataset packages install their data; the last place searched.
inline constexpr const char *kSystemDataDir = "/usr/share/datasets";

/// Returns the first existing regular file among the places listed above, or
/// an Error listing every place that was tried.
Expected<std::string> resolve_data_path(const std::string &path, const std::string &source_dir);

/// N examples: inputs [N, ...] as floats and int32 labels: one per example,
/// or label_shape's worth (e.g. [T] next tokens of a language model).
struct Dataset {
  std::string images_path, labels_path;
  HostArray inputs;
  std::vector<int32_t> labels;
  /// The labels of one example, row-major; empty: one class label.
  std::vector<int64_t> label_shape = {};

  /// Labels per example: the product of label_shape.
  int64_t label_size() const;

  /// The number of examples.
  int64_t size() const { return inputs.count(); }
  /// The shape of one example: inputs.shape without its first dimension.
  std::span<const int64_t> example_shape() const { return std::span(inputs.shape).subspan(1); }
  /// Floats per example.
  int64_t example_size() const { return inputs.example_size(); }
  /// Keeps the first n examples and their labels (all when n < 0 or
  /// n >= size()).
  void keep_first(int64_t n);
};

struct DatasetOptions {
  /// Keep only the first `limit` examples (for quick runs); all when unset.
  std::optional<int64_t> limit;
  /// Divide u8 inputs by 255 so pixels lie in [0, 1].
  bool scale_u8 = true;
  /// When not empty: keep only examples of these classes, relabelled by
  /// their position in the list (`idx(..., classes: [8, 9])`: 8 -> 0, 9 -> 1),
  /// before `limit` applies (see select_classes).
  std::vector<int32_t> classes = {};
};

/// Loads an images file and a labels file (paths already resolved) and
/// checks that they hold the same number of examples.
Expected<Dataset> load_dataset(const std::string &images_path, const std::string &labels_path,
                               const DatasetOptions &options = {});

/// Keeps, in order, the examples whose label is in `classes` and relabels
/// each with its class's position in that list. Refuses a class without
/// examples (a typo would otherwise train on nothing of it).
Expected<void> select_classes(Dataset &data, std::span<const int32_t> classes);

/// resolve_data_path on both names, then load_dataset.
Expected<Dataset> load_dataset_from(const std::string &images, const std::string &labels, const std::string &source_dir,
                                    const DatasetOptions &options = {});

/// What the model expects of its data, for check_dataset.
struct ModelDataSpec {
  /// The model's input name and per-example shape (no batch dimension).
  std::string input_name = "input";
  std::vector<int64_t> input_shape;
  /// The model's label name and class count: labels must lie in [0, num_classes).
  std::string label_name = "label";
  int64_t num_classes = 0;
  /// The model's labels per example (empty: one class label).
  std::vector<int64_t> label_shape = {};
};

/// Checks a dataset against the model. The per-example shape must equal the
/// input's, or have the same number of elements (row-major data reshapes
/// for free: 28x28 images feed an f32[784] input). Every label must lie in
/// [0, num_classes); the error names the first one that does not.
Expected<void> check_dataset(const Dataset &data, const ModelDataSpec &spec);

} // namespace netc::rt
