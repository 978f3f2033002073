//===- Control.cpp - scan: a loop over a time axis ------------------------===//
//
// scan %xs_1, ..., %xs_k, %init {body = "f", axis = a [, reverse = 1]
//                                [, output = j, shape = [...] [, sum = 1]]}
//
// Runs the module's function @f once per step t of the sequences' axis `a`
// (all of the same static length T), from t = 0 up, or from T-1 down with
// `reverse`. @f takes the k sequences' step-t slices (axis `a` removed) and
// the carried state, and returns the new state as its output 0, plus any
// further outputs. The state starts as %init.
//
// The node's value is one output of the body over all steps: by default
// output 0, the states after each step, stacked along `a` (so f32[N, T, H]
// for a state f32[N, H] and a = 1). `output = j` (j >= 1) selects body
// output j instead, whose per-step `shape` the node states (the verifier
// checks it against the body): stacked along `a`, or summed over the steps
// with `sum = 1`. Sibling scans with equal operands and body that select
// different outputs are one loop in codegen; keeping each node
// single-result keeps every other pass unchanged. The gradient scan of
// backprop through time uses them (docs/recurrence.md).
//
// The shape rule sees operand types only, so the body's signature is the
// verifier's job. The VJP needs the module (it differentiates the body into
// a function of its own), so the autodiff pass applies it itself.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <fmt/format.h>

namespace netc {

TensorType scan_step_type(const TensorType &seq, int64_t axis) {
  TensorType t = seq;
  t.shape.erase(t.shape.begin() + axis);
  return t;
}

Shape scan_stacked_shape(const Shape &step, int64_t axis, int64_t steps) {
  Shape s = step;
  s.insert(s.begin() + axis, steps);
  return s;
}

namespace ops {
using namespace opsupport;

namespace {

/// Step t of `x` along `axis` (that axis removed).
Tensor take_step(const Tensor &x, int64_t axis, int64_t t) {
  AxisSplit sp = split_at_axis(x.shape, axis);
  Shape s = x.shape;
  s.erase(s.begin() + axis);
  Tensor out(x.dtype, s);
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < sp.inner; ++i)
      out[o * sp.inner + i] = x[(o * sp.extent + t) * sp.inner + i];
  return out;
}

/// Writes `y` as step t of `stack` along `axis`.
void put_step(Tensor &stack, int64_t axis, int64_t t, const Tensor &y) {
  AxisSplit sp = split_at_axis(stack.shape, axis);
  NETC_ASSERT(y.size() == sp.outer * sp.inner, "scan: a body output changed shape");
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < sp.inner; ++i)
      stack[(o * sp.extent + t) * sp.inner + i] = y[o * sp.inner + i];
}

std::string check_flag(const Node &n, const char *name) {
  if (n.attrs.has(name) && (!n.attrs.is_int(name) || n.attrs.get_int(name) < 0 ||
                            n.attrs.get_int(name) > 1))
    return fmt::format("attribute `{}` must be 0 or 1", name);
  return {};
}

} // namespace

const OpInfo ScanInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (in.size() < 2)
        return TypeResult::fail(fmt::format("expects one or more sequences and the initial "
                                            "state, found {} operand(s)",
                                            in.size()));
      if (!n.attrs.is_str("body") || n.attrs.get_str("body").empty())
        return TypeResult::fail("needs attribute `body` (the step function's name)");
      if (!n.attrs.is_int("axis") || n.attrs.get_int("axis") < 0)
        return TypeResult::fail("needs attribute `axis` (a non-negative int)");
      for (const char *flag : {"reverse", "sum"})
        if (std::string e = check_flag(n, flag); !e.empty())
          return TypeResult::fail(e);
      if (n.attrs.has("output") && (!n.attrs.is_int("output") || n.attrs.get_int("output") < 0))
        return TypeResult::fail("attribute `output` must be a body output's index");
      int64_t axis = n.attrs.get_int("axis"), steps = -1;
      for (size_t i = 0; i + 1 < in.size(); ++i) {
        const TensorType &seq = in[i];
        if (axis >= seq.rank())
          return TypeResult::fail("sequence " + seq.str() + " has no axis " +
                                  std::to_string(axis));
        int64_t len = seq.shape[axis];
        if (len == kBatch || len <= 0)
          return TypeResult::fail("the time axis " + std::to_string(axis) + " of " + seq.str() +
                                  " must be static and non-empty");
        if (steps >= 0 && len != steps)
          return TypeResult::fail(fmt::format("sequences differ in length along axis {}: {} "
                                              "vs {} steps",
                                              axis, steps, len));
        steps = len;
      }
      const TensorType &init = in.back();
      if (std::string e = require_f32(init, "the initial state"); !e.empty())
        return TypeResult::fail(e);
      int64_t output = n.attrs.get_int("output");
      bool sum = n.attrs.get_int("sum") == 1;
      Shape step = init.shape;
      if (output == 0) {
        if (n.attrs.has("shape") || sum)
          return TypeResult::fail("output 0 (the state) is stacked and takes no `shape` or "
                                  "`sum`");
      } else {
        if (!n.attrs.is_ints("shape"))
          return TypeResult::fail(fmt::format("output {} needs the body output's per-step "
                                              "`shape` (ints)",
                                              output));
        step = n.attrs.get_ints("shape");
      }
      if (sum)
        return TypeResult::ok(f32(step));
      if (axis > static_cast<int64_t>(step.size()))
        return TypeResult::fail(fmt::format("cannot stack per-step {} along axis {}",
                                            shape_str(step), axis));
      return TypeResult::ok(f32(scan_stacked_shape(step, axis, steps)));
    },
    /*vjp=*/nullptr, // applied by the autodiff pass (passes/Autodiff.cpp)
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &env) {
      NETC_ASSERT(env.call != nullptr, "scan: no module to find body @" +
                                           n.attrs.get_str("body") +
                                           " in (interpret the function with its module)");
      std::string body = n.attrs.get_str("body");
      int64_t axis = n.attrs.get_int("axis"), output = n.attrs.get_int("output");
      bool reverse = n.attrs.get_int("reverse") == 1, sum = n.attrs.get_int("sum") == 1;
      size_t k = in.size() - 1;
      int64_t steps = in[0]->shape[axis];
      Tensor state = *in.back(), result;
      std::vector<Tensor> args(k + 1);
      for (int64_t s = 0; s < steps; ++s) {
        int64_t t = reverse ? steps - 1 - s : s;
        for (size_t i = 0; i < k; ++i)
          args[i] = take_step(*in[i], axis, t);
        args[k] = std::move(state);
        std::vector<Tensor> outs = env.call(body, args);
        NETC_ASSERT(static_cast<int64_t>(outs.size()) > output,
                    "scan: body @" + body + " has no output " + std::to_string(output));
        const Tensor &y = outs[output];
        if (s == 0)
          result = sum ? Tensor(DType::F32, y.shape)
                       : Tensor(DType::F32, scan_stacked_shape(y.shape, axis, steps));
        if (sum) {
          NETC_ASSERT(y.size() == result.size(), "scan: a body output changed shape");
          for (int64_t i = 0; i < y.size(); ++i)
            result[i] += y[i];
        } else {
          put_step(result, axis, t, y);
        }
        state = std::move(outs[0]);
      }
      return result;
    },
    /*cost=*/
    [](const Node &n, std::span<const TensorType> in, int64_t batch) {
      // The body's kernels are costed on their own; this is the loop's I/O.
      return OpCost{0, io_bytes(n, in, batch)};
    },
};

} // namespace ops
} // namespace netc
