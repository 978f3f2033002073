//===- Matmul.cpp - Matrix product ----------------------------------------===//
//
// matmul: [M, K] x [K, P] -> [M, P]. Any of M, K, P may be the batch N
// (K = N is the weight gradient Xᵀ·dY). Dense layers lower to it.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

namespace netc::ops {
using namespace opsupport;

//===-- matmul;  dA = dC·Bᵀ, dB = Aᵀ·dC -----------------------------------===//
const OpInfo MatMulInfo = {
    /*infer=*/[](const Node &, std::span<const TensorType> in) {
      for (const TensorType &t : in) {
        if (std::string e = require_f32(t, "operands"); !e.empty())
          return TypeResult::fail(e);
        if (t.rank() != 2)
          return TypeResult::fail("expects rank-2 operands, found " + in[0].str() + " @ " +
                                  in[1].str());
      }
      if (in[0].shape[1] != in[1].shape[0])
        return TypeResult::fail("inner dimensions differ: " + in[0].str() + " @ " + in[1].str() +
                                " (" + dim_str(in[0].shape[1]) + " vs " +
                                dim_str(in[1].shape[0]) + ")");
      return TypeResult::ok(f32({in[0].shape[0], in[1].shape[1]}));
    },
    /*vjp=*/
    [](VjpContext &c) {
      ValueId a = c.node.operands[0], b = c.node.operands[1];
      if (c.want(0))
        c.dx[0] = c.b.matmul(c.dy, c.b.transpose(b, {1, 0}));
      if (c.want(1))
        c.dx[1] = c.b.matmul(c.b.transpose(a, {1, 0}), c.dy);
    },
    /*eval=*/
    [](const Node &, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &a = *in[0], &b = *in[1];
      int64_t m = a.shape[0], k = a.shape[1], p = b.shape[1];
      Tensor c(DType::F32, {m, p});
      // i-k-j order: the inner loop streams rows of b and c.
      for (int64_t i = 0; i < m; ++i)
        for (int64_t kk = 0; kk < k; ++kk) {
          double av = a[i * k + kk];
          const double *brow = &b.data[kk * p];
          double *crow = &c.data[i * p];
          for (int64_t j = 0; j < p; ++j)
            crow[j] += av * brow[j];
        }
      return c;
    },
    /*cost=*/
    [](const Node &n, std::span<const TensorType> in, int64_t batch) {
      double m = static_cast<double>(concrete_shape(in[0].shape, batch)[0]);
      double k = static_cast<double>(concrete_shape(in[0].shape, batch)[1]);
      double p = static_cast<double>(concrete_shape(in[1].shape, batch)[1]);
      return OpCost{2 * m * k * p, io_bytes(n, in, batch)};
    },
};

} // namespace netc::ops
