//===- Model.h - A compiled model's slots, parameters and functions -*- C++ -*-===//
//
// The trainer's view of the code `netc build` generated (runtime/ModelABI.h):
//
//   ModelABI   the JSON description and the step functions, as plain
//              pointers, so unit tests can hand in a model written in C++;
//   ModelDesc  the parsed JSON: slots (dtype, shape with -1 for the batch
//              dimension N), parameters and optimizer state, functions;
//   Model      owns one 64-byte aligned host allocation per slot, sized for
//              the largest batch, and one halide_buffer_t per slot whose
//              dims are in Halide order (dim[0] = the last IR dimension) with
//              dense strides; bind_batch(n) sets every N extent to n.
//
// Parameters are initialised exactly as the reference interpreter does
// (ir/Interpreter.cpp init_params): one Pcg32(seed), params in the JSON's
// order, each through ir/Init.h's init_values. A native trainer therefore
// starts from the same bits as `netc train`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <HalideRuntime.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netc::rt {

/// netc_fn_<name>(slots, batch): 0, or a Halide error code.
using StepFn = int (*)(halide_buffer_t **slots, int32_t batch);

/// What a compiled model exports, as pointers. Main.cpp fills it from the
/// symbols of runtime/ModelABI.h; tests fill it with a hand-written model.
struct ModelABI {
  const char *json = nullptr;
  StepFn train_step = nullptr, eval = nullptr, predict = nullptr;
  /// The pictures' functions: named values and input gradients.
  StepFn inspect = nullptr, saliency = nullptr, saliency_loss = nullptr;
  /// halide_set_num_threads from the linked Halide runtime; null when absent.
  int (*set_num_threads)(int) = nullptr;
  /// halide_set_custom_do_par_for from the same runtime; null when absent.
  halide_do_par_for_t (*set_custom_do_par_for)(halide_do_par_for_t) = nullptr;
};

/// Every function a model may export, in ModelDesc::functions order.
inline constexpr const char *kFunctionNames[] = {"train_step", "eval",     "predict",
                                                 "inspect",    "saliency", "saliency_loss"};

/// Element types a slot may hold.
enum class ElemType { F32, F64, I32, I64, U8, I8, Bool };

/// "f32", ...: the JSON spelling. "F32", ...: the safetensors spelling.
const char *elem_type_name(ElemType t);
const char *elem_type_safetensors_name(ElemType t);
size_t elem_type_size(ElemType t);

/// The batch dimension's marker in slot shapes.
inline constexpr int64_t kBatchDim = -1;

/// One buffer of the model.
struct SlotDesc {
  ElemType type = ElemType::F32;
  /// IR order (row-major, outermost first); kBatchDim marks N.
  std::vector<int64_t> shape;

  bool has_batch_dim() const;
  /// The shape with every N replaced by `batch`.
  std::vector<int64_t> shape_at(int64_t batch) const;
};

/// A parameter or optimizer-state tensor living in a slot.
struct ParamDesc {
  std::string name;
  bool is_state = false;
  int slot = 0;
  std::string init;
  double value = 0, stddev = 0.01;
  /// `init ... from` (runtime/trainer/Pretrained.h): "safetensors", "npy" or
  /// "glove", else empty; the file as written in the .net file; the tensor's
  /// name in a safetensors file; a GloVe table's vocabulary file.
  std::string init_from, init_path, init_tensor, init_vocab;
};

/// A named slot: a function argument or output.
struct SlotRef {
  std::string name;
  int slot = 0;
};

/// One step function's interface.
struct FnDesc {
  std::string name;
  std::vector<SlotRef> args, outputs;
  /// Update slots, named by the parameter they are copied into.
  std::vector<SlotRef> updates;

  /// The output called `name`, or null.
  const SlotRef *output(std::string_view name) const;
};

/// The parsed netc_model_json.
struct ModelDesc {
  std::string name;
  /// The train block, flattened ("batch", "optimizer.lr", "data.images", ...).
  nlohmann::json config = nlohmann::json::object();
  std::vector<SlotDesc> slots;
  std::vector<ParamDesc> params;
  /// The functions the JSON describes, in the order of kFunctionNames.
  std::vector<FnDesc> functions;

  /// The function called `name`, or null.
  const FnDesc *function(std::string_view name) const;
  /// The parameter called `name`, or null.
  const ParamDesc *param(std::string_view name) const;
  /// config[key] as an integer / number / string, or `fallback`.
  int64_t config_int(const std::string &key, int64_t fallback) const;
  double config_number(const std::string &key, double fallback) const;
  std::string config_string(const std::string &key, const std::string &fallback = "") const;
};

/// Parses and checks the model description: every slot index in range,
/// known dtypes and init kinds, parameters without a batch dimension.
Expected<ModelDesc> parse_model_json(std::string_view json);

/// "f32[-1, 784]" printed as "f32[N, 784]".
std::string slot_type_string(const SlotDesc &s);

/// A model with its buffers allocated.
class Model {
public:
  /// Parses abi.json and allocates every slot for up to `max_batch` examples.
  static Expected<Model> create(const ModelABI &abi, int64_t max_batch);

  Model(Model &&) = default;
  Model &operator=(Model &&) = default;
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const ModelDesc &desc() const { return desc_; }
  const ModelABI &abi() const { return abi_; }
  int64_t max_batch() const { return max_batch_; }
  int64_t batch() const { return batch_; }

  /// Sets every N extent to `n` (1 <= n <= max_batch) and recomputes the
  /// dense strides of every slot.
  void bind_batch(int64_t n);

  /// The Halide buffer of slot `i`, as bound by the last bind_batch.
  const halide_buffer_t &buffer(int i) const { return buffers_[size_t(i)]; }
  /// The host memory of slot `i`; typed views for its element type.
  uint8_t *host(int i) const { return buffers_[size_t(i)].host; }
  float *f32(int i) const { return reinterpret_cast<float *>(host(i)); }
  int32_t *i32(int i) const { return reinterpret_cast<int32_t *>(host(i)); }
  /// Elements / bytes of slot `i` at the current batch.
  int64_t elements(int i) const;
  size_t bytes(int i) const { return size_t(elements(i)) * elem_type_size(desc_.slots[size_t(i)].type); }

  /// Initialises every parameter and state slot from `seed` (see above).
  void init_params(uint64_t seed);

  /// True when the model has the function `name`: described and linked.
  bool has_function(std::string_view name) const;
  /// Binds `batch` and calls the function `name`. Errors name the function
  /// and explain the Halide error code.
  Expected<void> call(std::string_view name, int64_t batch);

private:
  Model(ModelDesc desc, const ModelABI &abi, int64_t max_batch);
  StepFn entry(std::string_view name) const;

  ModelDesc desc_;
  ModelABI abi_;
  int64_t max_batch_ = 0, batch_ = 0;
  struct FreeDeleter {
    void operator()(uint8_t *p) const;
  };
  std::vector<std::unique_ptr<uint8_t[], FreeDeleter>> memory_;
  std::vector<std::vector<halide_dimension_t>> dims_;
  std::vector<halide_buffer_t> buffers_;
  std::vector<halide_buffer_t *> pointers_;
};

/// The meaning of a Halide error code (halide_error_code_t), in words.
std::string halide_error_string(int code);

} // namespace netc::rt
