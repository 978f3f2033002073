//===- ModelABI.h - What a compiled model exports to its trainer -*- C++ -*-===//
//
// `netc build` emits one object holding the model's Halide kernels and a
// step driver (LLVM IR, compiled by LLVM). The driver exports the symbols
// below; the runtime (runtime/trainer/) supplies `main`, allocates every
// buffer, and calls them. Nothing else crosses the boundary.
//
// Buffers are numbered slots. `netc_model_json` describes each slot's dtype
// and shape (-1 marks the batch dimension N), which slots hold parameters and
// optimizer state, and each function's argument, output and update slots:
//
//   {"name": "mlp",
//    "config": {"batch": 64, "epochs": 5, "optimizer.lr": 0.1, ...},   // the train block
//    "slots": [{"dtype": "f32", "shape": [784, 512]}, {"dtype": "f32", "shape": [-1, 784]}, ...],
//    "params": [{"name": "h.dense.w", "kind": "param"|"state", "slot": 0,
//                "attrs": {"init": "glorot_uniform", ...}}, ...],
//    "functions": {
//      "train_step": {"args": [{"name": "image", "slot": 5}, {"name": "label", "slot": 6}],
//                     "outputs": [{"name": "loss", "slot": 9}],
//                     "updates": [{"param": "h.dense.w", "slot": 12}, ...]},
//      "eval": {...}, "predict": {...}, "inspect": {...},
//      "saliency": {...}, "saliency_loss": {...}}}
//
// Calling convention of netc_fn_<function>(slots, batch):
//   - slots[i] is a halide_buffer_t describing slot i with host memory for at
//     least `batch` examples, dims in Halide order (dim[0] = the innermost =
//     the last IR dimension), dense strides, and every N dimension's extent
//     set to `batch`;
//   - the caller has written the argument slots; the driver runs the kernels,
//     then copies each update slot into its parameter's slot;
//   - returns 0, or the Halide error code of the first kernel that failed.
// Absent functions (a model without a loss has no train_step) are null.
//
// The functions (passes/Autodiff.h, frontend/Lower.cpp):
//   train_step(inputs, label) -> loss; updates every parameter and state
//   eval(inputs, label)       -> loss and the model's outputs
//   predict(inputs)           -> the model's outputs
//   inspect(inputs)           -> every named value of the model (h, logits, ...)
//   saliency(inputs, score.seed) -> score, grad.<input>: d sum(score * seed) / d input
//   saliency_loss(inputs, label) -> loss, grad.<input>: d loss / d input
// The last two exist only for models whose inputs are all f32.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <HalideRuntime.h>
#include <cstdint>

extern "C" {
/// The model description above, NUL-terminated.
extern const char netc_model_json[];
/// The step functions. Weak so a model without a loss links without one.
int netc_fn_train_step(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
int netc_fn_eval(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
int netc_fn_predict(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
int netc_fn_inspect(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
int netc_fn_saliency(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
int netc_fn_saliency_loss(halide_buffer_t **slots, int32_t batch) __attribute__((weak));
}
