//===- halide_lower_test.cpp - Every op's Halide lowering vs the interpreter
//
// For every op but arg, param and scan (the loop over all_ops() fails when an op
// has no case here): lower the op alone into a Halide pipeline whose
// operands are ImageParams, schedule it as a kernel output, JIT it once for
// the host, run it at batch sizes 1, 7 and 64 (when a shape has N) on random
// inputs, and compare with the float64 reference interpreter. Shapes are
// chosen to be multiples of no vector width or tile (10, 13, 37, ...).
//
// Tolerance: |halide - reference| <= tol · max(1, |reference|), with NaN
// required exactly where the reference has NaN; tol is 1e-5 for pointwise
// ops and 1e-4 for long float32 sums (matmul, reductions).
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "codegen/Kernels.h"
#include "codegen/halide/Lower.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

using namespace netc;
using namespace netc::test;

namespace {

const std::vector<int64_t> kBatches = {1, 7, 64};

/// An operand: its type and the range its random values come from (i32
/// operands draw integers in [lo, hi)).
struct Operand {
  TensorType type;
  double lo = -2, hi = 2;
};

struct Case {
  std::string name;
  OpKind op;
  std::vector<Operand> operands;
  Attrs attrs;
  double tol;
  TensorType declared; // the result type of a leaf (constant)
  std::vector<int64_t> batches;

  Case(std::string name, OpKind op, std::vector<Operand> operands, Attrs attrs = {},
       double tol = 1e-5, TensorType declared = {}, std::vector<int64_t> batches = kBatches)
      : name(std::move(name)), op(op), operands(std::move(operands)), attrs(std::move(attrs)),
        tol(tol), declared(std::move(declared)), batches(std::move(batches)) {}
};

Operand f32(Shape s, double lo = -2, double hi = 2) { return {{DType::F32, std::move(s)}, lo, hi}; }
Operand i32(Shape s, double lo, double hi) { return {{DType::I32, std::move(s)}, lo, hi}; }
Attrs axes(std::vector<int64_t> a, int64_t keepdims) {
  return Attrs{{"axes", std::move(a)}, {"keepdims", keepdims}};
}
Attrs shape_attr(const char *key, Shape s) { return Attrs{{key, std::move(s)}}; }
constexpr int64_t N = kBatch;
Attrs conv(Shape stride, Shape pads, const char *key = nullptr, Shape extra = {}) {
  Attrs a{{"stride", std::move(stride)}, {"pads", std::move(pads)}};
  if (key)
    a.set(key, std::move(extra));
  return a;
}
Attrs pool(Shape window, Shape stride, Shape size = {}) {
  Attrs a{{"window", std::move(window)}, {"stride", std::move(stride)}};
  if (!size.empty())
    a.set("size", std::move(size));
  return a;
}

std::vector<Case> cases() {
  Attrs axis1{{"axis", int64_t(1)}}, axis0{{"axis", int64_t(0)}};
  return {
      {"constant f32[N, 3]", OpKind::Constant, {}, Attrs{{"value", 0.25}}, 1e-6, {DType::F32, {N, 3}}},
      {"constant i32[5]", OpKind::Constant, {}, Attrs{{"value", 3.0}}, 1e-6, {DType::I32, {5}}},
      {"batch_size", OpKind::BatchSize, {}, {}, 1e-6},
      {"neg", OpKind::Neg, {f32({N, 37})}},
      {"exp", OpKind::Exp, {f32({N, 37}, -5, 5)}},
      {"log", OpKind::Log, {f32({N, 37}, 0.01, 10)}},
      {"sqrt", OpKind::Sqrt, {f32({N, 37}, 0, 10)}},
      {"relu", OpKind::Relu, {f32({N, 37})}},
      // 70,400 elements at batch 64: the parallel specialisation (at least
      // kParallelMin = 65,536 elements, Schedule.cpp); batches 1 and 7 run
      // on one thread.
      {"relu [N,1100]", OpKind::Relu, {f32({N, 1100})}},
      {"step", OpKind::Step, {f32({N, 37})}},
      {"sigmoid", OpKind::Sigmoid, {f32({N, 37}, -30, 30)}},
      // 19,200 elements at batch 64, each worth 4 with a transcendental:
      // parallel (tasks of 54 rows and a tail of 10); serial at batch 7.
      {"sigmoid [N,300]", OpKind::Sigmoid, {f32({N, 300}, -30, 30)}, {}, 1e-5, {}, {7, 64}},
      {"tanh", OpKind::Tanh, {f32({N, 37}, -5, 5)}},
      {"floor", OpKind::Floor, {f32({N, 37}, -5, 5)}},
      {"cos", OpKind::Cos, {f32({N, 37}, -10, 10)}},
      {"add [N,10]+[10]", OpKind::Add, {f32({N, 10}), f32({10})}},
      {"sub [N,1]-[N,10]", OpKind::Sub, {f32({N, 1}), f32({N, 10})}},
      {"mul [3,N,5]*[N,1]", OpKind::Mul, {f32({3, N, 5}), f32({N, 1})}},
      {"mul scalar", OpKind::Mul, {f32({}), f32({N, 13})}},
      {"div [N,20]/[20]", OpKind::Div, {f32({N, 20}), f32({20}, 0.5, 2)}},
      {"equal f32", OpKind::Equal, {f32({N, 10}, 0, 3), f32({10}, 0, 3)}},
      {"equal i32", OpKind::Equal, {i32({N}, 0, 3), i32({N}, 0, 3)}},
      {"minimum [N,10],[10]", OpKind::Minimum, {f32({N, 10}), f32({10})}},
      {"maximum [N,1],[N,10]", OpKind::Maximum, {f32({N, 1}), f32({N, 10})}},
      {"pow [N,10]^[10]", OpKind::Pow, {f32({N, 10}, 0.1, 3), f32({10}, -2, 2)}},
      {"pow scalar^[N]", OpKind::Pow, {f32({}, 0.5, 0.99), f32({N}, 0, 100)}},
      {"matmul [N,13]x[13,10]", OpKind::MatMul, {f32({N, 13}), f32({13, 10})}, {}, 1e-4},
      {"matmul K=N [20,N]x[N,33]", OpKind::MatMul, {f32({20, N}), f32({N, 33})}, {}, 1e-4},
      {"matmul [1,1]x[1,1]", OpKind::MatMul, {f32({1, 1}), f32({1, 1})}, {}, 1e-4},
      {"matmul [45,70]x[70,77]", OpKind::MatMul, {f32({45, 70}), f32({70, 77})}, {}, 1e-4},
      // 25.7 M multiply-adds at batch 64: the parallel specialisation
      // (kParallelMacs, Schedule.cpp); the cases above run serially.
      {"matmul [N,784]x[784,512]", OpKind::MatMul, {f32({N, 784}), f32({784, 512})}, {}, 1e-4,
       {}, {64}},
      // The panel schedule (Schedule.cpp): panels of 64 columns (two and a
      // shifted third for 130), blocks of 6 rows (batch 5 below a block, 13
      // with a shifted last block), parallel over row blocks when one panel.
      {"matmul panels [N,70]x[70,130]", OpKind::MatMul, {f32({N, 70}), f32({70, 130})}, {}, 1e-4,
       {}, {1, 5, 6, 13, 64}},
      {"matmul panels K=N [100,N]x[N,64]", OpKind::MatMul, {f32({100, N}), f32({N, 64})}, {},
       1e-4, {}, {1, 7, 64}},
      {"matmul panels [7,33]x[33,N]", OpKind::MatMul, {f32({7, 33}), f32({33, N})}, {}, 1e-4,
       {}, {1, 64, 100}},
      {"reshape [N,28,28]->[N,784]", OpKind::Reshape, {f32({N, 28, 28})},
       shape_attr("shape", {N, 784})},
      {"reshape [N,784]->[N,28,28]", OpKind::Reshape, {f32({N, 784})},
       shape_attr("shape", {N, 28, 28})},
      {"reshape [N,6]->[N,2,3]", OpKind::Reshape, {f32({N, 6})}, shape_attr("shape", {N, 2, 3})},
      {"reshape [N,4]->[2,N,2]", OpKind::Reshape, {f32({N, 4})}, shape_attr("shape", {2, N, 2})},
      {"reshape [3,4,1]->[1,2,6]", OpKind::Reshape, {f32({3, 4, 1})},
       shape_attr("shape", {1, 2, 6})},
      {"reshape i32 [N]->[N,1]", OpKind::Reshape, {i32({N}, 0, 9)}, shape_attr("shape", {N, 1})},
      {"transpose [N,5,3] {2,0,1}", OpKind::Transpose, {f32({N, 5, 3})},
       shape_attr("perm", {2, 0, 1})},
      {"transpose [N,37] {1,0}", OpKind::Transpose, {f32({N, 37})}, shape_attr("perm", {1, 0})},
      // Tiles of a vector's width: partial tiles on both axes; the LSTM's
      // [128, 512] weight at the parallel threshold (Schedule.cpp).
      {"transpose [13,37] {1,0}", OpKind::Transpose, {f32({13, 37})}, shape_attr("perm", {1, 0})},
      {"transpose [128,512] {1,0}", OpKind::Transpose, {f32({128, 512})},
       shape_attr("perm", {1, 0})},
      {"broadcast [1]->[N]", OpKind::Broadcast, {f32({1})}, shape_attr("shape", {N})},
      {"broadcast [3,1]->[N,3,4]", OpKind::Broadcast, {f32({3, 1})},
       shape_attr("shape", {N, 3, 4})},
      {"slice [N,7,5] axis 1 [2,6)", OpKind::Slice, {f32({N, 7, 5})},
       Attrs{{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"size", int64_t(4)}}},
      {"slice [N,37] axis 1 [0,13)", OpKind::Slice, {f32({N, 37})},
       Attrs{{"axis", int64_t(1)}, {"begin", int64_t(0)}, {"size", int64_t(13)}}},
      {"concat [N,1,5]+[N,6,5] axis 1", OpKind::Concat, {f32({N, 1, 5}), f32({N, 6, 5})},
       Attrs{{"axis", int64_t(1)}}},
      {"concat [N,13]+[N,37] axis 1", OpKind::Concat, {f32({N, 13}), f32({N, 37})},
       Attrs{{"axis", int64_t(1)}}},
      {"concat [N,600]+[N,600] axis 1 (parallel at batch 64)", OpKind::Concat,
       {f32({N, 600}), f32({N, 600})}, Attrs{{"axis", int64_t(1)}}},
      {"concat [3,N]+[4,N] axis 0", OpKind::Concat, {f32({3, N}), f32({4, N})},
       Attrs{{"axis", int64_t(0)}}},
      {"one_hot [N] classes 10", OpKind::OneHot, {i32({N}, -1, 11)},
       Attrs{{"classes", int64_t(10)}}},
      // Ids in [-2, 12) over 10 rows: repeats and out-of-range ids both ways.
      {"gather [10,37] by [N]", OpKind::Gather, {f32({10, 37}), i32({N}, -2, 12)}, {}, 1e-5, {},
       {1, 7}},
      {"gather [10,5] by [N,3]", OpKind::Gather, {f32({10, 5}), i32({N, 3}, -2, 12)}, {}, 1e-5,
       {}, {1, 7}},
      {"scatter_add [N] into 10 rows of 37", OpKind::ScatterAdd,
       {i32({N}, -2, 12), f32({N, 37})}, Attrs{{"rows", int64_t(10)}}, 1e-5, {}, {1, 7, 64}},
      {"scatter_add [N,3] into 4 rows of 5", OpKind::ScatterAdd,
       {i32({N, 3}, -1, 5), f32({N, 3, 5})}, Attrs{{"rows", int64_t(4)}}, 1e-5, {}, {1, 7}},
      {"reduce_sum [N,37] over N", OpKind::ReduceSum, {f32({N, 37})}, axes({0}, 0), 1e-4},
      {"reduce_sum [N,37] over 1 keepdims", OpKind::ReduceSum, {f32({N, 37})}, axes({1}, 1), 1e-4},
      {"reduce_sum [N,3,5] over 0,2", OpKind::ReduceSum, {f32({N, 3, 5})}, axes({0, 2}, 0), 1e-4},
      {"reduce_sum [4,5] no axes", OpKind::ReduceSum, {f32({4, 5})}, axes({}, 0)},
      // Sums down to the channels: the outermost axis in chunks of about
      // kParallelMin elements, rfactored (Schedule.cpp); N = 7 and 13 end in
      // a partial chunk of 3 images, and [40, 64, 64] has a static one.
      {"reduce_sum [N,26,26,32] over 0,1,2", OpKind::ReduceSum, {f32({N, 26, 26, 32})},
       axes({0, 1, 2}, 0), 1e-4, {}, {1, 7, 13}},
      {"reduce_mean [N,9,9,64] over 0,1,2", OpKind::ReduceMean, {f32({N, 9, 9, 64})},
       axes({0, 1, 2}, 0), 1e-4, {}, {1, 20}},
      {"reduce_sum [40,64,64] over 0,1", OpKind::ReduceSum, {f32({40, 64, 64})}, axes({0, 1}, 0),
       1e-4},
      {"reduce_max [N,10] over 1", OpKind::ReduceMax, {f32({N, 10})}, axes({1}, 0)},
      {"reduce_max [N,37] over N keepdims", OpKind::ReduceMax, {f32({N, 37})}, axes({0}, 1)},
      {"reduce_mean [N,10] over all", OpKind::ReduceMean, {f32({N, 10})}, axes({0, 1}, 0), 1e-4},
      {"reduce_mean [N,5,3] over 1", OpKind::ReduceMean, {f32({N, 5, 3})}, axes({1}, 1), 1e-4},
      {"softmax [N,10] axis 1", OpKind::Softmax, {f32({N, 10}, -10, 10)}, axis1},
      {"softmax [N,10] axis 0", OpKind::Softmax, {f32({N, 10}, -10, 10)}, axis0},
      {"softmax [37] axis 0", OpKind::Softmax, {f32({37}, -10, 10)}, axis0},
      {"log_softmax [N,3,5] axis 1", OpKind::LogSoftmax, {f32({N, 3, 5}, -10, 10)}, axis1},
      {"cross_entropy [N,10]", OpKind::CrossEntropy, {f32({N, 10}, -10, 10), i32({N}, 0, 10)},
       {}, 1e-5, {}, {1, 7, 13, 64}},
      {"cross_entropy bad labels", OpKind::CrossEntropy,
       {f32({N, 10}, -10, 10), i32({N}, -2, 12)}, {}, 1e-5, {}, {13}},
      {"cross_entropy [N,7,10] per position", OpKind::CrossEntropy,
       {f32({N, 7, 10}, -10, 10), i32({N, 7}, 0, 10)}, {}, 1e-5, {}, {1, 13}},
      // conv1d as the one-row image [N, 1, T, C]: causal (left pads only),
      // strided "same", and the gradients of the causal one; max_pool1d.
      {"conv2d as causal conv1d [N,1,16,5]*[1,4,5,12]", OpKind::Conv2D,
       {f32({N, 1, 16, 5}), f32({1, 4, 5, 12})}, conv({1, 1}, {0, 3, 0, 0}), 1e-4, {}, {1, 7}},
      {"conv2d as conv1d stride 2 same [N,1,15,3]*[1,3,3,8]", OpKind::Conv2D,
       {f32({N, 1, 15, 3}), f32({1, 3, 3, 8})}, conv({1, 2}, {0, 1, 0, 1}), 1e-4},
      {"conv2d_grad_input causal conv1d", OpKind::Conv2DGradInput,
       {f32({N, 1, 16, 12}), f32({1, 4, 5, 12})}, conv({1, 1}, {0, 3, 0, 0}, "size", {1, 16}), 1e-4},
      {"conv2d_grad_filter causal conv1d", OpKind::Conv2DGradFilter,
       {f32({N, 1, 16, 5}), f32({N, 1, 16, 12})}, conv({1, 1}, {0, 3, 0, 0}, "filter_size", {1, 4}),
       1e-4},
      {"max_pool2d as max_pool1d [N,1,9,6] 1x2", OpKind::MaxPool2D, {f32({N, 1, 9, 6})},
       pool({1, 2}, {1, 2})},
      // Convolution and pooling (channels-last images; non-square sizes,
      // channel counts off the vector width, stride 2, uneven padding).
      {"conv2d [N,9,7,3]*[3,3,3,20] valid", OpKind::Conv2D, {f32({N, 9, 7, 3}), f32({3, 3, 3, 20})},
       conv({1, 1}, {0, 0, 0, 0}), 1e-4},
      {"conv2d [N,8,11,5]*[3,2,5,13] stride 2 padded", OpKind::Conv2D,
       {f32({N, 8, 11, 5}), f32({3, 2, 5, 13})}, conv({2, 2}, {1, 0, 1, 1}), 1e-4},
      {"conv2d [N,28,28,1]*[3,3,1,32] same", OpKind::Conv2D,
       {f32({N, 28, 28, 1}), f32({3, 3, 1, 32})}, conv({1, 1}, {1, 1, 1, 1}), 1e-4, {}, {1, 7}},
      // The CNN's second layer: 4 vectors of filters, blocks of 6 pixels,
      // two shifted blocks on an 11-pixel row (Conv.cpp's conv_block).
      {"conv2d [N,13,13,32]*[3,3,32,64] valid", OpKind::Conv2D,
       {f32({N, 13, 13, 32}), f32({3, 3, 32, 64})}, conv({1, 1}, {0, 0, 0, 0}), 1e-4, {}, {1, 3}},
      {"conv2d_grad_input valid", OpKind::Conv2DGradInput, {f32({N, 7, 5, 20}), f32({3, 3, 3, 20})},
       conv({1, 1}, {0, 0, 0, 0}, "size", {9, 7}), 1e-4},
      {"conv2d_grad_input stride 2 padded", OpKind::Conv2DGradInput,
       {f32({N, 4, 6, 13}), f32({3, 2, 5, 13})}, conv({2, 2}, {1, 0, 1, 1}, "size", {8, 11}), 1e-4},
      // The CNN's second layer (one block of 13 pixels, whose column
      // predicates fold to constants) and a padded 28-pixel row in shifted
      // blocks, whose predicates stay run-time tests.
      {"conv2d_grad_input [N,11,11,64] -> [N,13,13,32]", OpKind::Conv2DGradInput,
       {f32({N, 11, 11, 64}), f32({3, 3, 32, 64})}, conv({1, 1}, {0, 0, 0, 0}, "size", {13, 13}),
       1e-4, {}, {1, 3}},
      {"conv2d_grad_input same [N,5,28,32] -> [N,5,28,32]", OpKind::Conv2DGradInput,
       {f32({N, 5, 28, 32}), f32({3, 3, 32, 32})}, conv({1, 1}, {1, 1, 1, 1}, "size", {5, 28}),
       1e-4, {}, {1, 3}},
      {"conv2d_grad_filter valid", OpKind::Conv2DGradFilter,
       {f32({N, 9, 7, 3}), f32({N, 7, 5, 20})}, conv({1, 1}, {0, 0, 0, 0}, "filter_size", {3, 3}),
       1e-4},
      // The CNN's second layer: blocks of 6 of the 32 input channels, the
      // last one guarded (2 channels).
      {"conv2d_grad_filter [N,13,13,32] x [N,11,11,64] -> [3,3,32,64]", OpKind::Conv2DGradFilter,
       {f32({N, 13, 13, 32}), f32({N, 11, 11, 64})},
       conv({1, 1}, {0, 0, 0, 0}, "filter_size", {3, 3}), 1e-4, {}, {1, 3, 9}},
      // Few channels: every tap's accumulators in registers (Conv.cpp).
      // (images in rfactored chunks of 8: N = 20 ends in a partial chunk)
      {"conv2d_grad_filter one channel [N,9,8,1] -> [3,3,1,20]", OpKind::Conv2DGradFilter,
       {f32({N, 9, 8, 1}), f32({N, 7, 6, 20})}, conv({1, 1}, {0, 0, 0, 0}, "filter_size", {3, 3}),
       1e-4, {}, {1, 7, 20, 64}},
      {"conv2d_grad_filter two channels same [N,6,7,2] -> [3,3,2,8]", OpKind::Conv2DGradFilter,
       {f32({N, 6, 7, 2}), f32({N, 6, 7, 8})}, conv({1, 1}, {1, 1, 1, 1}, "filter_size", {3, 3}),
       1e-4},
      {"conv2d_grad_filter stride 2 padded", OpKind::Conv2DGradFilter,
       {f32({N, 8, 11, 5}), f32({N, 4, 6, 13})}, conv({2, 2}, {1, 0, 1, 1}, "filter_size", {3, 2}),
       1e-4},
      {"max_pool2d [N,9,7,6] 2x2", OpKind::MaxPool2D, {f32({N, 9, 7, 6})}, pool({2, 2}, {2, 2})},
      {"max_pool2d [N,7,9,3] 3x2 stride 2,1", OpKind::MaxPool2D, {f32({N, 7, 9, 3})},
       pool({3, 2}, {2, 1})},
      {"max_pool2d_grad 2x2", OpKind::MaxPool2DGrad, {f32({N, 9, 7, 6}), f32({N, 4, 3, 6})},
       pool({2, 2}, {2, 2})},
      {"max_pool2d_grad 3x2 stride 2,1", OpKind::MaxPool2DGrad,
       {f32({N, 7, 9, 3}), f32({N, 3, 8, 3})}, pool({3, 2}, {2, 1})},
      {"avg_pool2d [N,7,9,3] 3x2 stride 2,1", OpKind::AvgPool2D, {f32({N, 7, 9, 3})},
       pool({3, 2}, {2, 1})},
      {"avg_pool2d_grad 3x2 stride 2,1", OpKind::AvgPool2DGrad, {f32({N, 3, 8, 3})},
       pool({3, 2}, {2, 1}, {7, 9})},
  };
}

/// A one-node IR function computing the case's op on fresh arguments. A
/// leading f32[N] argument, unused, tells the interpreter the batch size
/// when no operand has N.
struct OneOp {
  Function f;
  ValueId result;
  bool batch_arg;
};

OneOp build(const Case &c) {
  OneOp o;
  o.f.name = "one_op";
  Builder b(o.f);
  o.batch_arg = std::none_of(c.operands.begin(), c.operands.end(),
                             [](const Operand &p) { return p.type.has_batch(); });
  if (o.batch_arg)
    b.arg("batch", {DType::F32, {N}});
  std::vector<ValueId> args;
  for (size_t i = 0; i < c.operands.size(); ++i)
    args.push_back(b.arg("x" + std::to_string(i), c.operands[i].type));
  if (c.op == OpKind::Constant)
    o.result = b.constant(c.attrs.get_float("value"), c.declared);
  else
    o.result = b.op(c.op, args, c.attrs);
  o.f.outputs.push_back({"y", o.result});
  return o;
}

/// Halide extents of an IR shape: reversed, N bound to `batch`.
std::vector<int> halide_extents(const Shape &s, int64_t batch) {
  std::vector<int> e;
  for (auto it = s.rbegin(); it != s.rend(); ++it)
    e.push_back(static_cast<int>(*it == kBatch ? batch : *it));
  return e;
}

/// The op lowered and JIT-compiled once, for every batch size.
struct Compiled {
  std::vector<Halide::ImageParam> inputs;
  Halide::Param<int32_t> batch{"batch"};
  Halide::Pipeline pipeline;
};

Compiled compile(const Case &c, const Node &node, const Halide::Target &target) {
  Compiled k;
  std::vector<hl::Value> values;
  for (size_t i = 0; i < c.operands.size(); ++i) {
    const TensorType &t = c.operands[i].type;
    Halide::ImageParam ip(hl::halide_type(t.dtype), t.rank(), "in" + std::to_string(i));
    std::vector<Halide::Var> v(t.rank());
    Halide::Func wrap("wrap" + std::to_string(i));
    wrap(v) = ip(v);
    k.inputs.push_back(ip);
    values.push_back({wrap, t});
  }
  Halide::Func out = hl::lower_op(node, values, k.batch);
  hl::schedule_output(node, out, target, false, false, false, hl::is_transcendental(node.op), false,
                      {});
  k.pipeline = Halide::Pipeline(out);
  k.pipeline.compile_jit(target);
  return k;
}

/// A Halide buffer holding `t`: IR row-major order is Halide's dense order.
Halide::Buffer<> to_buffer(const Tensor &t) {
  Halide::Buffer<> buf(hl::halide_type(t.dtype), halide_extents(t.shape, 1));
  for (int64_t i = 0; i < t.size(); ++i) {
    if (t.dtype == DType::F32)
      buf.as<float>().data()[i] = static_cast<float>(t[i]);
    else
      buf.as<int32_t>().data()[i] = static_cast<int32_t>(t[i]);
  }
  return buf;
}

Tensor from_buffer(const Halide::Buffer<> &buf, const TensorType &type, int64_t batch) {
  Tensor t(type.dtype, concrete_shape(type.shape, batch));
  for (int64_t i = 0; i < t.size(); ++i)
    t[i] = type.dtype == DType::F32 ? buf.as<float>().data()[i] : buf.as<int32_t>().data()[i];
  return t;
}

/// Largest error over the output, in units of tol (<= 1 passes); infinite
/// where NaN appears on one side only.
double scaled_error(const Tensor &got, const Tensor &want, double tol) {
  double worst = 0;
  for (int64_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i]) || std::isnan(got[i])) {
      if (std::isnan(want[i]) != std::isnan(got[i]))
        return INFINITY;
      continue;
    }
    double scale = std::max(1.0, std::abs(want[i]));
    worst = std::max(worst, std::abs(got[i] - want[i]) / (scale * tol));
  }
  return worst;
}

/// Runs case `c` at every batch size it lists (once when nothing has N).
void check_case(const Case &c, const Halide::Target &target, Pcg32 &rng) {
  OneOp o = build(c);
  const Node &node = o.f.node(o.result);
  Compiled k = compile(c, node, target);
  bool uses_batch = o.batch_arg ? node.type.has_batch() || c.op == OpKind::BatchSize : true;
  for (int64_t batch : c.batches) {
    std::vector<Tensor> args;
    if (o.batch_arg)
      args.push_back(Tensor(DType::F32, {batch}));
    for (size_t i = 0; i < c.operands.size(); ++i) {
      const Operand &p = c.operands[i];
      Tensor t(p.type.dtype, concrete_shape(p.type.shape, batch));
      for (double &v : t.data)
        v = p.type.dtype == DType::I32 ? std::floor(rng.uniform(p.lo, p.hi)) : rng.uniform(p.lo, p.hi);
      k.inputs[i].set(to_buffer(t));
      args.push_back(std::move(t));
    }
    k.batch.set(static_cast<int32_t>(batch));
    Halide::Buffer<> out(hl::halide_type(node.type.dtype), halide_extents(node.type.shape, batch));
    k.pipeline.realize(out, target);
    Tensor want = interpret(o.f, args, {}).outputs.at("y");
    double err = scaled_error(from_buffer(out, node.type, batch), want, c.tol);
    INFO(c.name << " at batch " << batch << ": error " << err << " x tol " << c.tol);
    CHECK(err <= 1.0);
    if (!uses_batch)
      break;
  }
}

} // namespace

TEST_CASE("every op's Halide lowering matches the interpreter", "[halide]") {
  Halide::Target target = Halide::get_jit_target_from_environment();
  Pcg32 rng(2024);
  std::set<OpKind> covered;
  for (const Case &c : cases()) {
    SECTION(c.name) {
      try {
        check_case(c, target, rng);
      } catch (const Halide::Error &e) {
        FAIL(c.name << ": Halide error: " << e.what());
      }
    }
    covered.insert(c.op);
  }
  // A scan is a loop of the driver around its body's kernels, not a kernel.
  for (OpKind op : all_ops())
    if (op != OpKind::Arg && op != OpKind::Param && op != OpKind::Scan) {
      INFO("no Halide lowering case for op " << op_name(op));
      CHECK(covered.count(op) == 1);
    }
}

/// The compiled op `op` on every x of `xs`, against `want` in float64 at
/// the float32 argument: within `ulps` float32 ulps (2^-23) relative to the
/// value itself (not scaled by max(1, |y|) as above).
void check_relative_error(OpKind op, const std::vector<double> &xs, double (*want_of)(double),
                          double ulps) {
  Halide::Target target = Halide::get_jit_target_from_environment();
  Case c{op_name(op), op, {f32({static_cast<int64_t>(xs.size())})}};
  OneOp o = build(c);
  Compiled k = compile(c, o.f.node(o.result), target);
  Tensor x(DType::F32, {static_cast<int64_t>(xs.size())});
  x.data = xs;
  k.inputs[0].set(to_buffer(x));
  k.batch.set(1);
  Halide::Buffer<> out(Halide::Float(32), {static_cast<int>(xs.size())});
  k.pipeline.realize(out, target);
  for (size_t i = 0; i < xs.size(); ++i) {
    double want = want_of(static_cast<double>(static_cast<float>(xs[i])));
    double got = out.as<float>()(static_cast<int>(i));
    INFO(op_name(op) << "(" << xs[i] << ") = " << got << ", want " << want);
    CHECK(std::abs(got - want) <= ulps * 0x1p-23 * std::abs(want));
  }
}

TEST_CASE("tanh keeps float32 precision near zero, across its branch and where it saturates",
          "[halide]") {
  // The lowering computes tanh from exp (Elementwise.cpp): its error must
  // stay within a few float32 ulps for tiny arguments, both sides of the
  // series' 1/4 threshold, large ones and infinities. The 45 arguments run
  // through the vector loop.
  std::vector<double> xs = {0,    1e-30, 1e-8, 1e-4, 0.01, 0.0625, 0.2, 0.2499, 0.25, 0.2501,
                            0.26, 0.3,   0.5,  1,    2.5,  5,      9,   20,     50,   1e4};
  size_t n = xs.size();
  for (size_t i = 0; i < n; ++i)
    xs.push_back(-xs[i]);
  xs.push_back(INFINITY);
  xs.push_back(-INFINITY);
  check_relative_error(OpKind::Tanh, xs, [](double x) { return std::tanh(x); }, 3.5);
}

TEST_CASE("sigmoid keeps float32 precision on both sides of zero", "[halide]") {
  // 1/(1 + e^-|x|) from zero up, e^x/(1 + e^x) below (Elementwise.cpp):
  // relative error within a few ulps from 1e-35 (x = -80) up to 1, 161
  // arguments in the vector loop.
  std::vector<double> xs;
  for (int i = -80; i <= 80; ++i)
    xs.push_back(i * (i % 2 ? 0.37 : 1.0));
  check_relative_error(OpKind::Sigmoid, xs, [](double x) { return 1 / (1 + std::exp(-x)); }, 4);
}

// Not part of the suite: GFLOP/s of the MLP's [64,784]x[784,512] matmul
// kernel, JIT-compiled for the host. HL_NUM_THREADS sets the thread count.
TEST_CASE("matmul [64,784]x[784,512] throughput", "[.][halide-bench]") {
  Halide::Target target = Halide::get_jit_target_from_environment();
  Case c{"bench", OpKind::MatMul, {f32({N, 784}), f32({784, 512})}};
  OneOp o = build(c);
  const Node &node = o.f.node(o.result);
  Compiled k = compile(c, node, target);
  Pcg32 rng(7);
  for (int i = 0; i < 2; ++i) {
    Tensor t(DType::F32, concrete_shape(c.operands[i].type.shape, 64));
    for (double &v : t.data)
      v = rng.uniform(-1, 1);
    k.inputs[i].set(to_buffer(t));
  }
  k.batch.set(64);
  if (const char *dump = getenv("NETC_DUMP_ASM")) // the kernel's assembly, for inspection
    k.pipeline.compile_to_assembly(dump, k.pipeline.infer_arguments(), "mm", target);
  Halide::Buffer<float> out(512, 64);
  std::vector<double> gflops;
  for (int run = 0; run < 9; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    const int reps = 50;
    for (int r = 0; r < reps; ++r)
      k.pipeline.realize(out, target);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gflops.push_back(2.0 * 64 * 784 * 512 * reps / s / 1e9);
  }
  std::sort(gflops.begin(), gflops.end());
  WARN("matmul [64,784]x[784,512]: median " << gflops[gflops.size() / 2] << " GFLOP/s (min "
                                           << gflops.front() << ", max " << gflops.back() << ")");
}

namespace {

/// Lowers every non-arg node of `f` in order into one kernel (as
/// codegen/Kernels.cpp does), schedules its last node as the output, and
/// compares with the interpreter at batches 1, 7 and 64.
void check_kernel(const Function &f, const std::vector<std::pair<double, double>> &ranges) {
  Halide::Target target = Halide::get_jit_target_from_environment();
  Halide::Param<int32_t> batch("batch");
  std::vector<Halide::ImageParam> inputs;
  std::vector<hl::Value> values;
  for (const Node &n : f.nodes) {
    if (n.op == OpKind::Arg) {
      Halide::ImageParam ip(hl::halide_type(n.type.dtype), n.type.rank());
      std::vector<Halide::Var> v(n.type.rank());
      Halide::Func wrap;
      wrap(v) = ip(v);
      inputs.push_back(ip);
      values.push_back({wrap, n.type});
      continue;
    }
    std::vector<hl::Value> operands;
    for (ValueId o : n.operands)
      operands.push_back(values[o]);
    values.push_back({hl::lower_op(n, operands, batch), n.type});
  }
  const Node &root = f.nodes.back();
  hl::schedule_output(root, values.back().func, target, false, false, false, 0, false, {});
  Halide::Pipeline p(values.back().func);
  p.compile_jit(target);
  Pcg32 rng(11);
  for (int64_t b : kBatches) {
    std::vector<Tensor> args;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorType &t = f.nodes[i].type;
      Tensor x(t.dtype, concrete_shape(t.shape, b));
      for (double &v : x.data)
        v = t.dtype == DType::I32 ? std::floor(rng.uniform(ranges[i].first, ranges[i].second))
                                  : rng.uniform(ranges[i].first, ranges[i].second);
      inputs[i].set(to_buffer(x));
      args.push_back(std::move(x));
    }
    batch.set(static_cast<int32_t>(b));
    Halide::Buffer<> out(hl::halide_type(root.type.dtype), halide_extents(root.type.shape, b));
    p.realize(out, target);
    Tensor want = interpret(f, args, {}).outputs.at("y");
    double err = scaled_error(from_buffer(out, root.type, b), want, 1e-4);
    INFO("batch " << b << ": error " << err << " x tol 1e-4");
    CHECK(err <= 1.0);
  }
}

} // namespace

TEST_CASE("kernels of several ops: matmul epilogues, reductions of matmuls", "[halide]") {
  Function f;
  f.name = "kernel";
  Builder b(f);
  ValueId x = b.arg("x", {DType::F32, {N, 70}});
  ValueId w = b.arg("w", {DType::F32, {70, 45}});
  SECTION("relu(x @ w + bias): the epilogue tiled around the accumulator") {
    ValueId bias = b.arg("bias", {DType::F32, {45}});
    ValueId y = b.op(OpKind::Relu, {b.add(b.matmul(x, w), bias)});
    f.outputs.push_back({"y", y});
    check_kernel(f, {{-1, 1}, {-1, 1}, {-1, 1}});
  }
  SECTION("reduce_sum over N of x @ w: the accumulator computed on its own") {
    ValueId y = b.reduce_sum(b.matmul(x, w), {0}, false);
    f.outputs.push_back({"y", y});
    check_kernel(f, {{-1, 1}, {-1, 1}});
  }
  SECTION("relu(conv2d(x, k) + bias): a conv's epilogue tiled as the conv") {
    // Fusion.cpp gives a forward conv2d the matmul's epilogue rule; the
    // kernel's root is the relu and Conv.cpp schedules it around the conv's
    // accumulator. 20 filters: a full vector and a shifted one.
    ValueId img = b.arg("img", {DType::F32, {N, 9, 7, 3}});
    ValueId k = b.arg("k", {DType::F32, {3, 3, 3, 20}});
    ValueId bias = b.arg("bias", {DType::F32, {20}});
    ValueId c = b.op(OpKind::Conv2D, {img, k}, conv({1, 1}, {1, 1, 1, 1}));
    ValueId y = b.op(OpKind::Relu, {b.add(c, bias)});
    f.outputs.push_back({"y", y});
    check_kernel(f, {{-1, 1}, {-1, 1}, {-1, 1}, {-1, 1}, {-1, 1}});
  }
  SECTION("cross_entropy(x @ w, labels): row statistics of a matmul") {
    ValueId labels = b.arg("labels", {DType::I32, {N}});
    ValueId y = b.op(OpKind::CrossEntropy, {b.matmul(x, w), labels});
    f.outputs.push_back({"y", y});
    check_kernel(f, {{-1, 1}, {-1, 1}, {0, 45}});
  }
}

TEST_CASE("a kernel whose root is a concat writes its pieces one by one", "[halide]") {
  // build_kernel_pipeline lowers a concat root (nested concats on its axis
  // looked through) as one update per piece (lower_concat_root); pieces of
  // odd widths exercise the vector tails, and a concat along an outer axis
  // the other schedule.
  Halide::Target target = Halide::get_jit_target_from_environment();
  Function f;
  f.name = "kernel";
  Builder b(f);
  auto run = [&](ValueId root, const std::vector<ValueId> &args) {
    f.outputs.push_back({"y", root});
    codegen::Kernel k;
    k.function = &f;
    for (size_t i = 0; i < f.nodes.size(); ++i)
      if (f.nodes[i].op != OpKind::Arg)
        k.nodes.push_back(static_cast<ValueId>(i));
    k.inputs = args;
    codegen::KernelPipeline kp = codegen::build_kernel_pipeline(k, target);
    CHECK(kp.pipeline.outputs()[0].name().rfind("concat_root", 0) == 0);
    kp.pipeline.compile_jit(target);
    Pcg32 rng(5);
    for (int64_t n : kBatches) {
      std::vector<Tensor> in;
      for (size_t i = 0; i < args.size(); ++i) {
        const TensorType &t = f.type(args[i]);
        Tensor x(t.dtype, concrete_shape(t.shape, n));
        for (double &v : x.data)
          v = rng.uniform(-2, 2);
        kp.inputs[i].set(to_buffer(x));
        in.push_back(std::move(x));
      }
      kp.batch.set(static_cast<int32_t>(n));
      const TensorType &t = f.type(root);
      Halide::Buffer<> out(Halide::Float(32), halide_extents(t.shape, n));
      kp.pipeline.realize(out, target);
      Tensor want = interpret(f, in, {}).outputs.at("y");
      INFO("batch " << n);
      CHECK(scaled_error(from_buffer(out, t, n), want, 1e-5) <= 1.0);
    }
  };
  SECTION("three pieces along the innermost axis, widths 5, 16 and 3") {
    ValueId a = b.arg("a", {DType::F32, {N, 5}}), c = b.arg("c", {DType::F32, {N, 16}}),
            d = b.arg("d", {DType::F32, {N, 3}});
    ValueId ac = b.op(OpKind::Concat, {b.op(OpKind::Tanh, {a}), b.op(OpKind::Sigmoid, {c})},
                      Attrs{{"axis", int64_t(1)}});
    run(b.op(OpKind::Concat, {ac, b.mul(d, d)}, Attrs{{"axis", int64_t(1)}}), {0, 1, 2});
  }
  SECTION("two pieces along a middle axis") {
    ValueId a = b.arg("a", {DType::F32, {N, 2, 7}}), c = b.arg("c", {DType::F32, {N, 3, 7}});
    run(b.op(OpKind::Concat, {b.op(OpKind::Relu, {a}), b.neg(c)}, Attrs{{"axis", int64_t(1)}}),
        {0, 1});
  }
}
