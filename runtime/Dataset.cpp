//===- Dataset.cpp - Labelled examples loaded from IDX files --------------===//
//
// This file implements data path resolution, dataset loading and the checks
// of a dataset against the model it is meant to train.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

namespace netc::rt {

namespace fs = std::filesystem;

int64_t Dataset::label_size() const { return num_elements(label_shape); }

void Dataset::keep_first(int64_t n) {
  if (n < 0 || n >= size())
    return;
  inputs.keep_first(n);
  labels.resize(size_t(n * label_size()));
}

//===----------------------------------------------------------------------===//
// Path resolution
//===----------------------------------------------------------------------===//

namespace {

/// The candidate locations of a relative data path, in search order.
std::vector<fs::path> data_search_dirs(const std::string &source_dir) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  dirs.push_back(ec ? fs::path(".") : cwd);
  if (!source_dir.empty())
    dirs.emplace_back(source_dir);
  if (const char *env = std::getenv("NETC_DATA")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view entry = rest.substr(0, colon);
      if (!entry.empty()) // "a::b" and a trailing ':' add no directory
        dirs.emplace_back(std::string(entry));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  dirs.emplace_back(kSystemDataDir);
  return dirs;
}

bool is_file(const fs::path &p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

} // namespace

Expected<std::string> resolve_data_path(const std::string &path, const std::string &source_dir) {
  if (path.empty())
    return fail("empty data file name");
  fs::path p(path);
  if (p.is_absolute()) {
    if (is_file(p))
      return path;
    return fail(fmt::format("cannot find data file '{}' (an absolute path; no such file)", path));
  }
  std::string tried;
  for (const fs::path &dir : data_search_dirs(source_dir)) {
    fs::path candidate = (dir / p).lexically_normal();
    if (is_file(candidate))
      return candidate.string();
    tried += "\n  " + candidate.string();
  }
  return fail(fmt::format("cannot find data file '{}'; looked in (current directory, the .net file's "
                          "directory, $NETC_DATA, {}):{}",
                          path, kSystemDataDir, tried));
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

Expected<Dataset> load_dataset(const std::string &images_path, const std::string &labels_path,
                               const DatasetOptions &options) {
  // With a class filter the limit counts kept examples, so read them all.
  std::optional<int64_t> limit = options.classes.empty() ? options.limit : std::nullopt;
  auto images = read_idx(images_path, limit);
  if (!images)
    return Error{images.error()};
  auto labels = read_idx(labels_path, limit);
  if (!labels)
    return Error{labels.error()};
  // Compare the counts the files hold, not the counts kept: a limit must not
  // hide a mismatched pair of files.
  if (images->file_count != labels->file_count)
    return fail(fmt::format("{} has {} examples but {} has {} labels; the two files must match", images_path,
                            images->file_count, labels_path, labels->file_count));
  auto label_values = idx_to_labels(*labels);
  if (!label_values)
    return Error{label_values.error()};
  Dataset data{images_path, labels_path, idx_to_floats(*images, options.scale_u8), std::move(*label_values)};
  if (options.classes.empty())
    return data;
  if (Expected<void> ok = select_classes(data, options.classes); !ok)
    return Error{ok.error()};
  if (options.limit)
    data.keep_first(*options.limit);
  return data;
}

Expected<void> select_classes(Dataset &data, std::span<const int32_t> classes) {
  if (data.labels.size() != size_t(data.size()))
    return fail(fmt::format("{}: `classes` selects examples by their one class label, but these examples have "
                            "several labels each",
                            data.labels_path));
  std::vector<int64_t> count(classes.size(), 0);
  int64_t n = data.size(), row = data.example_size(), kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto it = std::find(classes.begin(), classes.end(), data.labels[size_t(i)]);
    if (it == classes.end())
      continue;
    size_t k = size_t(it - classes.begin());
    ++count[k];
    std::copy_n(data.inputs.data.begin() + i * row, row, data.inputs.data.begin() + kept * row);
    data.labels[size_t(kept++)] = int32_t(k);
  }
  for (size_t k = 0; k < classes.size(); ++k)
    if (count[k] == 0)
      return fail(fmt::format("{}: no example has label {}, which `classes` selects", data.labels_path, classes[k]));
  data.keep_first(kept);
  return {};
}

Expected<Dataset> load_dataset_from(const std::string &images, const std::string &labels, const std::string &source_dir,
                                    const DatasetOptions &options) {
  auto images_path = resolve_data_path(images, source_dir);
  if (!images_path)
    return Error{images_path.error()};
  auto labels_path = resolve_data_path(labels, source_dir);
  if (!labels_path)
    return Error{labels_path.error()};
  return load_dataset(*images_path, *labels_path, options);
}

//===----------------------------------------------------------------------===//
// Checking against the model
//===----------------------------------------------------------------------===//

namespace {

/// "f32[32, 32]": how the model language spells an input type.
std::string model_type_string(std::span<const int64_t> shape) { return "f32" + shape_list(shape); }

Expected<void> check_inputs(const Dataset &data, const ModelDataSpec &spec) {
  std::span<const int64_t> have = data.example_shape();
  bool same = std::equal(have.begin(), have.end(), spec.input_shape.begin(), spec.input_shape.end());
  if (same || num_elements(have) == num_elements(spec.input_shape))
    return {};
  return fail(fmt::format("images in {} are {} but the model's input `{}` is {}", data.images_path, shape_string(have),
                          spec.input_name, model_type_string(spec.input_shape)));
}

Expected<void> check_labels(const Dataset &data, const ModelDataSpec &spec) {
  if (data.label_shape != spec.label_shape)
    return fail(fmt::format("labels in {} are {} per example but the model's `{}` takes {}", data.labels_path,
                            data.label_shape.empty() ? "one" : shape_string(data.label_shape), spec.label_name,
                            spec.label_shape.empty() ? "one" : shape_string(spec.label_shape)));
  for (size_t i = 0; i < data.labels.size(); ++i) {
    int32_t l = data.labels[i];
    if (l >= 0 && l < spec.num_classes)
      continue;
    return fail(fmt::format("labels in {}: label {} at index {} is outside the model's `{}: class<{}>` "
                            "(expected 0 to {})",
                            data.labels_path, l, i, spec.label_name, spec.num_classes, spec.num_classes - 1));
  }
  return {};
}

} // namespace

Expected<void> check_dataset(const Dataset &data, const ModelDataSpec &spec) {
  if (auto ok = check_inputs(data, spec); !ok)
    return ok;
  return check_labels(data, spec);
}

} // namespace netc::rt
