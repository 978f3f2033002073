//===- Conv.cpp - 2-D convolution and pooling, with their gradients -------===//
//
// Images are channels-last in the IR: x [N, H, W, C]; filters are
// [KH, KW, C, F]. Attributes (all int lists):
//
//   stride  [sh, sw]                 >= 1
//   pads    [top, left, bottom, right]  zeros added around the input (ONNX
//                                    order); "same" and "valid" padding are
//                                    resolved by the frontend
//   window  [kh, kw]                 pooling window
//   size    [H, W]                   the input's spatial size, for the
//                                    gradients w.r.t. an input (a strided
//                                    output does not determine it)
//   filter_size [KH, KW]             the filter size, for the filter gradient
//
// Output size: OH = (H + top + bottom - KH) / sh + 1 (floor), likewise OW.
// The gradients are primitives of their own (a direct loop over taps beats
// expressing them through transposes and dilations); all conv ops are
// bilinear, so their VJPs are each other. max_pool2d_grad has no VJP: its
// derivative w.r.t. the input is zero almost everywhere, and nothing
// differentiates twice through a max pool yet.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <algorithm>

namespace netc::ops {
using namespace opsupport;

namespace {

/// The geometry of one conv or pool: sizes (N may be kBatch in shape rules),
/// stride and padding. Pools have C == F and no filter.
struct Geom {
  int64_t n = 0, h = 0, w = 0, c = 0, kh = 0, kw = 0, f = 0, oh = 0, ow = 0;
  int64_t sh = 1, sw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
};

/// Reads int list `key` of length `len` whose entries are >= `lo`; "" or why
/// not.
std::string read_ints(const Node &n, const char *key, size_t len, int64_t lo,
                      std::vector<int64_t> &out) {
  out = n.attrs.get_ints(key);
  bool ok = n.attrs.is_ints(key) && out.size() == len;
  for (int64_t v : out)
    ok = ok && v >= lo;
  if (ok)
    return {};
  return "needs attribute `" + std::string(key) + "` of " + std::to_string(len) +
         " integers >= " + std::to_string(lo);
}

/// Stride and pads (pools: pads are all zero).
std::string read_stride_pads(const Node &n, bool pads, Geom &g) {
  std::vector<int64_t> s, p{0, 0, 0, 0};
  if (std::string e = read_ints(n, "stride", 2, 1, s); !e.empty())
    return e;
  if (pads)
    if (std::string e = read_ints(n, "pads", 4, 0, p); !e.empty())
      return e;
  g.sh = s[0], g.sw = s[1], g.pt = p[0], g.pl = p[1], g.pb = p[2], g.pr = p[3];
  return {};
}

/// "" if `t` is an f32 image [N, H, W, C] with static H, W, C.
std::string require_image(const TensorType &t, const char *what) {
  if (std::string e = require_f32(t, what); !e.empty())
    return e;
  bool ok = t.rank() == 4;
  for (int i = 1; ok && i < 4; ++i)
    ok = t.shape[i] != kBatch && t.shape[i] > 0;
  return ok ? "" : std::string(what) + " must be an image [N, H, W, C], found " + t.str();
}

/// Output extents from the (padded) input, window and stride; "" or why not.
std::string out_size(Geom &g, const TensorType &x) {
  int64_t hp = g.h + g.pt + g.pb, wp = g.w + g.pl + g.pr;
  if (g.kh > hp || g.kw > wp)
    return "window " + std::to_string(g.kh) + "x" + std::to_string(g.kw) +
           " is larger than the padded input " + std::to_string(hp) + "x" + std::to_string(wp) +
           " (" + x.str() + ")";
  g.oh = (hp - g.kh) / g.sh + 1;
  g.ow = (wp - g.kw) / g.sw + 1;
  return {};
}

/// Geometry of conv2d(x, w); the shape rules of the gradients rebuild the
/// forward operands' types and come through here too.
std::string conv_geom(const Node &n, const TensorType &x, const TensorType &w, Geom &g) {
  if (std::string e = require_image(x, "input"); !e.empty())
    return e;
  if (std::string e = require_f32(w, "filters"); !e.empty())
    return e;
  if (w.rank() != 4 || std::count(w.shape.begin(), w.shape.end(), kBatch))
    return "filters must be [KH, KW, C, F], found " + w.str();
  if (w.shape[2] != x.shape[3])
    return "filters " + w.str() + " expect " + std::to_string(w.shape[2]) +
           " input channels, but the input " + x.str() + " has " + std::to_string(x.shape[3]);
  if (std::string e = read_stride_pads(n, true, g); !e.empty())
    return e;
  g.n = x.shape[0], g.h = x.shape[1], g.w = x.shape[2], g.c = x.shape[3];
  g.kh = w.shape[0], g.kw = w.shape[1], g.f = w.shape[3];
  return out_size(g, x);
}

/// Geometry of a pool of x: window, stride, no padding.
std::string pool_geom(const Node &n, const TensorType &x, Geom &g) {
  if (std::string e = require_image(x, "input"); !e.empty())
    return e;
  std::vector<int64_t> win;
  if (std::string e = read_ints(n, "window", 2, 1, win); !e.empty())
    return e;
  if (std::string e = read_stride_pads(n, false, g); !e.empty())
    return e;
  g.n = x.shape[0], g.h = x.shape[1], g.w = x.shape[2], g.c = g.f = x.shape[3];
  g.kh = win[0], g.kw = win[1];
  return out_size(g, x);
}

/// The type of an input image [N, H, W, C] whose spatial size is attribute
/// `size`, for the gradients w.r.t. inputs; "" or why not.
std::string sized_input(const Node &n, int64_t batch_dim, int64_t c, TensorType &x) {
  std::vector<int64_t> hw;
  if (std::string e = read_ints(n, "size", 2, 1, hw); !e.empty())
    return e;
  x = f32({batch_dim, hw[0], hw[1], c});
  return {};
}

/// `dy` must have the shape the forward op gives for geometry `g`.
std::string check_dy(const TensorType &dy, const Geom &g) {
  Shape want{g.n, g.oh, g.ow, g.f};
  if (dy.dtype == DType::F32 && dy.shape == want)
    return {};
  return "output gradient " + dy.str() + " does not match the forward output " + shape_str(want);
}

Geom concrete(Geom g, int64_t batch) {
  if (g.n == kBatch)
    g.n = batch;
  return g;
}

/// Visits every (output pixel, filter tap) pair that reads inside the input:
/// f(offset of x[n, ih, iw, 0], offset of y[n, oh, ow, 0], tap index kh·KW+kw).
template <typename F> void for_each_tap(const Geom &g, F f) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oh = 0; oh < g.oh; ++oh)
      for (int64_t ow = 0; ow < g.ow; ++ow)
        for (int64_t kh = 0; kh < g.kh; ++kh)
          for (int64_t kw = 0; kw < g.kw; ++kw) {
            int64_t ih = oh * g.sh + kh - g.pt, iw = ow * g.sw + kw - g.pl;
            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
              continue;
            f(((n * g.h + ih) * g.w + iw) * g.c, ((n * g.oh + oh) * g.ow + ow) * g.f,
              kh * g.kw + kw);
          }
}

Attrs conv_attrs(const Node &n) {
  return Attrs{{"stride", n.attrs.get_ints("stride")}, {"pads", n.attrs.get_ints("pads")}};
}
Attrs pool_attrs(const Node &n) {
  return Attrs{{"stride", n.attrs.get_ints("stride")}, {"window", n.attrs.get_ints("window")}};
}

// Geometry from each op's operands (see the shape rules below).
std::string geom_conv2d(const Node &n, std::span<const TensorType> in, Geom &g) {
  return conv_geom(n, in[0], in[1], g);
}
std::string geom_grad_input(const Node &n, std::span<const TensorType> in, Geom &g) {
  TensorType x;
  if (in[1].rank() != 4)
    return "filters must be [KH, KW, C, F], found " + in[1].str();
  if (std::string e = sized_input(n, in[0].rank() ? in[0].shape[0] : 1, in[1].shape[2], x);
      !e.empty())
    return e;
  if (std::string e = conv_geom(n, x, in[1], g); !e.empty())
    return e;
  return check_dy(in[0], g);
}
std::string geom_grad_filter(const Node &n, std::span<const TensorType> in, Geom &g) {
  std::vector<int64_t> k;
  if (std::string e = read_ints(n, "filter_size", 2, 1, k); !e.empty())
    return e;
  if (in[1].rank() != 4)
    return "output gradient must be [N, OH, OW, F], found " + in[1].str();
  TensorType w = f32({k[0], k[1], in[0].rank() == 4 ? in[0].shape[3] : 1, in[1].shape[3]});
  if (std::string e = conv_geom(n, in[0], w, g); !e.empty())
    return e;
  return check_dy(in[1], g);
}
std::string geom_pool(const Node &n, std::span<const TensorType> in, Geom &g) {
  return pool_geom(n, in[0], g);
}
std::string geom_pool_grad_x(const Node &n, std::span<const TensorType> in, Geom &g) {
  if (std::string e = pool_geom(n, in[0], g); !e.empty())
    return e;
  return check_dy(in[1], g);
}
std::string geom_avg_grad(const Node &n, std::span<const TensorType> in, Geom &g) {
  TensorType x;
  if (in[0].rank() != 4)
    return "output gradient must be [N, OH, OW, C], found " + in[0].str();
  if (std::string e = sized_input(n, in[0].shape[0], in[0].shape[3], x); !e.empty())
    return e;
  if (std::string e = pool_geom(n, x, g); !e.empty())
    return e;
  return check_dy(in[0], g);
}

/// The geometry of node `n` (already type-checked) from its operand types.
using GeomFn = std::string (*)(const Node &, std::span<const TensorType>, Geom &);
Geom geom_of(GeomFn fn, const Node &n, std::span<const TensorType> in) {
  Geom g;
  std::string e = fn(n, in, g);
  NETC_ASSERT(e.empty(), "conv geometry of a checked node: " + e);
  return g;
}
Geom geom_of(GeomFn fn, const Node &n, std::span<const Tensor *const> in) {
  std::vector<TensorType> t;
  for (const Tensor *x : in)
    t.push_back({x->dtype, x->shape});
  return geom_of(fn, n, t);
}

// The result shapes, from the geometry (pools have F == C).
Shape output_shape(const Geom &g) { return {g.n, g.oh, g.ow, g.f}; }
Shape input_shape(const Geom &g) { return {g.n, g.h, g.w, g.c}; }
Shape filter_shape(const Geom &g) { return {g.kh, g.kw, g.c, g.f}; }

/// The shape rule of an op whose geometry G reads from its operands: an f32
/// result of shape Out(geometry).
template <GeomFn G, Shape (*Out)(const Geom &)>
TypeResult geom_infer(const Node &n, std::span<const TensorType> in) {
  Geom g;
  if (std::string e = G(n, in, g); !e.empty())
    return TypeResult::fail(e);
  return TypeResult::ok(f32(Out(g)));
}

/// 2·N·OH·OW·KH·KW·C·F: each conv op does one FMA per (output pixel, tap, c,
/// f).
template <GeomFn G> OpCost conv_cost(const Node &n, std::span<const TensorType> in, int64_t batch) {
  Geom c = concrete(geom_of(G, n, in), batch);
  return {2.0 * c.n * c.oh * c.ow * c.kh * c.kw * c.c * c.f, io_bytes(n, in, batch)};
}

/// One operation per (output element, window tap).
template <GeomFn G> OpCost pool_cost(const Node &n, std::span<const TensorType> in, int64_t batch) {
  Geom c = concrete(geom_of(G, n, in), batch);
  return {static_cast<double>(c.n * c.oh * c.ow * c.c * c.kh * c.kw), io_bytes(n, in, batch)};
}

} // namespace

//===-- conv2d(x, w): y[n,oh,ow,f] = Σ_{kh,kw,c} x[n, oh·sh+kh-pt, ow·sw+kw-pl,
// c]·w[kh,kw,c,f]
// (x read as 0 outside). dx = conv2d_grad_input(dy, w), dw =
// conv2d_grad_filter(x, dy).
const OpInfo Conv2DInfo = {
    /*infer=*/geom_infer<geom_conv2d, output_shape>,
    /*vjp=*/
    [](VjpContext &c) {
      ValueId x = c.node.operands[0], w = c.node.operands[1];
      Shape xs = c.b.type(x).shape, ws = c.b.type(w).shape;
      Attrs gi = conv_attrs(c.node), gf = gi;
      gi.set("size", std::vector<int64_t>{xs[1], xs[2]});
      gf.set("filter_size", std::vector<int64_t>{ws[0], ws[1]});
      if (c.want(0))
        c.dx[0] = c.b.op(OpKind::Conv2DGradInput, {c.dy, w}, gi);
      if (c.want(1))
        c.dx[1] = c.b.op(OpKind::Conv2DGradFilter, {x, c.dy}, gf);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_conv2d, n, in);
      const Tensor &x = *in[0], &w = *in[1];
      Tensor y(DType::F32, output_shape(g));
      for_each_tap(g, [&](int64_t xo, int64_t yo, int64_t tap) {
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t f = 0; f < g.f; ++f)
            y[yo + f] += x[xo + c] * w[(tap * g.c + c) * g.f + f];
      });
      return y;
    },
    /*cost=*/conv_cost<geom_conv2d>,
};

//===-- conv2d_grad_input(dy, w) {size}: dx[n,ih,iw,c] = Σ
// dy[n,oh,ow,f]·w[kh,kw,c,f]
// over the (oh, ow, kh, kw) with ih = oh·sh+kh-pt, iw = ow·sw+kw-pl. Bilinear:
// d(dy) = conv2d(g, w), dw = conv2d_grad_filter(g, dy).
const OpInfo Conv2DGradInputInfo = {
    /*infer=*/geom_infer<geom_grad_input, input_shape>,
    /*vjp=*/
    [](VjpContext &c) {
      ValueId dy = c.node.operands[0], w = c.node.operands[1];
      Shape ws = c.b.type(w).shape;
      Attrs fwd = conv_attrs(c.node),
            gf = fwd; // c.node dangles once a node is built
      gf.set("filter_size", std::vector<int64_t>{ws[0], ws[1]});
      if (c.want(0))
        c.dx[0] = c.b.op(OpKind::Conv2D, {c.dy, w}, fwd);
      if (c.want(1))
        c.dx[1] = c.b.op(OpKind::Conv2DGradFilter, {c.dy, dy}, gf);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_grad_input, n, in);
      const Tensor &dy = *in[0], &w = *in[1];
      Tensor dx(DType::F32, input_shape(g));
      for_each_tap(g, [&](int64_t xo, int64_t yo, int64_t tap) {
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t f = 0; f < g.f; ++f)
            dx[xo + c] += dy[yo + f] * w[(tap * g.c + c) * g.f + f];
      });
      return dx;
    },
    /*cost=*/conv_cost<geom_grad_input>,
};

//===-- conv2d_grad_filter(x, dy) {filter_size}: dw[kh,kw,c,f] = Σ_{n,oh,ow}
// x[n,ih,iw,c]·dy[n,oh,ow,f]
// Bilinear: dx = conv2d_grad_input(dy, g), d(dy) = conv2d(x, g).
const OpInfo Conv2DGradFilterInfo = {
    /*infer=*/geom_infer<geom_grad_filter, filter_shape>,
    /*vjp=*/
    [](VjpContext &c) {
      ValueId x = c.node.operands[0], dy = c.node.operands[1];
      Shape xs = c.b.type(x).shape;
      Attrs fwd = conv_attrs(c.node),
            gi = fwd; // c.node dangles once a node is built
      gi.set("size", std::vector<int64_t>{xs[1], xs[2]});
      if (c.want(0))
        c.dx[0] = c.b.op(OpKind::Conv2DGradInput, {dy, c.dy}, gi);
      if (c.want(1))
        c.dx[1] = c.b.op(OpKind::Conv2D, {x, c.dy}, fwd);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_grad_filter, n, in);
      const Tensor &x = *in[0], &dy = *in[1];
      Tensor dw(DType::F32, filter_shape(g));
      for_each_tap(g, [&](int64_t xo, int64_t yo, int64_t tap) {
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t f = 0; f < g.f; ++f)
            dw[(tap * g.c + c) * g.f + f] += x[xo + c] * dy[yo + f];
      });
      return dw;
    },
    /*cost=*/conv_cost<geom_grad_filter>,
};

namespace {

/// Visits every pooling window: f(offset of y[n,oh,ow,0], offsets of its
/// x[n,ih,iw,0] in row-major window order).
template <typename F> void for_each_window(const Geom &g, F f) {
  std::vector<int64_t> taps;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oh = 0; oh < g.oh; ++oh)
      for (int64_t ow = 0; ow < g.ow; ++ow) {
        taps.clear();
        for (int64_t kh = 0; kh < g.kh; ++kh)
          for (int64_t kw = 0; kw < g.kw; ++kw)
            taps.push_back(((n * g.h + oh * g.sh + kh) * g.w + ow * g.sw + kw) * g.c);
        f(((n * g.oh + oh) * g.ow + ow) * g.c, taps);
      }
}

} // namespace

//===-- max_pool2d(x) {window, stride}: y[n,oh,ow,c] = max over the window of x
// dx = max_pool2d_grad(x, dy): dy routed to each window's first maximum.
const OpInfo MaxPool2DInfo = {
    /*infer=*/geom_infer<geom_pool, output_shape>,
    /*vjp=*/
    [](VjpContext &c) {
      c.dx[0] = c.b.op(OpKind::MaxPool2DGrad, {c.node.operands[0], c.dy}, pool_attrs(c.node));
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_pool, n, in);
      const Tensor &x = *in[0];
      Tensor y(DType::F32, output_shape(g));
      for_each_window(g, [&](int64_t yo, const std::vector<int64_t> &taps) {
        for (int64_t c = 0; c < g.c; ++c) {
          double m = x[taps[0] + c];
          for (int64_t t : taps)
            m = std::max(m, x[t + c]);
          y[yo + c] = m;
        }
      });
      return y;
    },
    /*cost=*/pool_cost<geom_pool>,
};

//===-- max_pool2d_grad(x, dy) {window, stride}: dx[argmax of each window] += dy
// The argmax is the first maximum in row-major window order (ties go to the
// first). No VJP (zero almost everywhere w.r.t. x; see the file comment).
const OpInfo MaxPool2DGradInfo = {
    /*infer=*/geom_infer<geom_pool_grad_x, input_shape>,
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_pool_grad_x, n, in);
      const Tensor &x = *in[0], &dy = *in[1];
      Tensor dx(DType::F32, x.shape);
      for_each_window(g, [&](int64_t yo, const std::vector<int64_t> &taps) {
        for (int64_t c = 0; c < g.c; ++c) {
          int64_t best = taps[0];
          for (int64_t t : taps)
            if (x[t + c] > x[best + c])
              best = t;
          dx[best + c] += dy[yo + c];
        }
      });
      return dx;
    },
    /*cost=*/pool_cost<geom_pool_grad_x>,
};

//===-- avg_pool2d(x) {window, stride}: y[n,oh,ow,c] = (1/(kh·kw)) Σ_window x
// dx = avg_pool2d_grad(dy) {size = x's H, W}.
const OpInfo AvgPool2DInfo = {
    /*infer=*/geom_infer<geom_pool, output_shape>,
    /*vjp=*/
    [](VjpContext &c) {
      Shape xs = c.b.type(c.node.operands[0]).shape;
      Attrs a = pool_attrs(c.node);
      a.set("size", std::vector<int64_t>{xs[1], xs[2]});
      c.dx[0] = c.b.op(OpKind::AvgPool2DGrad, {c.dy}, a);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_pool, n, in);
      const Tensor &x = *in[0];
      Tensor y(DType::F32, output_shape(g));
      double scale = 1.0 / static_cast<double>(g.kh * g.kw);
      for_each_window(g, [&](int64_t yo, const std::vector<int64_t> &taps) {
        for (int64_t t : taps)
          for (int64_t c = 0; c < g.c; ++c)
            y[yo + c] += x[t + c] * scale;
      });
      return y;
    },
    /*cost=*/pool_cost<geom_pool>,
};

//===-- avg_pool2d_grad(dy) {window, stride, size}: dx[window taps] +=
// dy/(kh·kw)
// Linear: d(dy) = avg_pool2d(g).
const OpInfo AvgPool2DGradInfo = {
    /*infer=*/geom_infer<geom_avg_grad, input_shape>,
    /*vjp=*/
    [](VjpContext &c) { c.dx[0] = c.b.op(OpKind::AvgPool2D, {c.dy}, pool_attrs(c.node)); },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Geom g = geom_of(geom_avg_grad, n, in);
      const Tensor &dy = *in[0];
      Tensor dx(DType::F32, input_shape(g));
      double scale = 1.0 / static_cast<double>(g.kh * g.kw);
      for_each_window(g, [&](int64_t yo, const std::vector<int64_t> &taps) {
        for (int64_t t : taps)
          for (int64_t c = 0; c < g.c; ++c)
            dx[t + c] += dy[yo + c] * scale;
      });
      return dx;
    },
    /*cost=*/pool_cost<geom_avg_grad>,
};

} // namespace netc::ops
