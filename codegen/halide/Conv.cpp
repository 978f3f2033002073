//===- Conv.cpp - Halide lowering and schedules of convolution and pooling ===//
//
// Layout: an image [N, H, W, C] is a Func (c, w, h, n) and filters
// [KH, KW, C, F] are (f, c, kw, kh), so channels are the innermost,
// contiguous dimension (ir/ops/Conv.cpp gives the ops' math).
//
// The three conv ops are direct (no im2col): an accumulator Func (name
// prefix kConvAcc) with one update over an RDom of the reduced taps, and a
// pure output copying it, as matmul does. schedule_conv computes the
// accumulator in a register block of the output: every channel of the
// vectorised innermost dimension times a few pixels (conv2d, grad_input) or
// input channels (grad_filter), with the reduction loops outside the block,
// so each reduction step is a few vector loads, a few broadcasts and
// (F / vw) · block FMAs. Blocks of rows are parallel.
//
// Pools are pure Funcs: the window is small and static, so max and sum are
// written out tap by tap and the default pointwise schedule (vectorised over
// channels, parallel over the batch) applies. Their gradients gather from the
// few windows that cover each input pixel, again as pure expressions.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

/// Name prefixes schedule_conv recognises: the accumulator, the zero-padded
/// input copy and the transposed filters.
inline constexpr const char *kConvAcc = "conv_acc";
inline constexpr const char *kConvPad = "conv_pad";
inline constexpr const char *kConvWt = "conv_wt";

/// stride [sh, sw], pads [top, left, bottom, right] (zeros for pools), and
/// window [kh, kw] when given.
struct Geom {
  int sh, sw, pt, pl;
  int kh = 0, kw = 0;
};

Geom geom(const Node &n) {
  std::vector<int64_t> s = n.attrs.get_ints("stride");
  std::vector<int64_t> p =
      n.attrs.is_ints("pads") ? n.attrs.get_ints("pads") : std::vector<int64_t>{0, 0, 0, 0};
  Geom g{int(s[0]), int(s[1]), int(p[0]), int(p[1])};
  if (n.attrs.is_ints("window")) {
    g.kh = int(n.attrs.get_ints("window")[0]);
    g.kw = int(n.attrs.get_ints("window")[1]);
  }
  return g;
}

/// `x` (an image Func of IR shape `s`) read as zero outside [0, H) x [0, W).
/// With no padding the reads stay inside and `x` is returned as is.
Func zero_padded(const Func &x, const Shape &s, bool padded) {
  if (!padded)
    return x;
  Var c, w, h, n;
  int H = int(s[1]), W = int(s[2]);
  Func p(fresh_name(kConvPad));
  Expr inside = w >= 0 && w < W && h >= 0 && h < H;
  p(c, w, h, n) = Halide::select(
      inside, Func(x)(c, Halide::clamp(w, 0, W - 1), Halide::clamp(h, 0, H - 1), n), 0.0f);
  return p;
}

bool any_pad(const Node &n) {
  std::vector<int64_t> p = n.attrs.get_ints("pads");
  return std::any_of(p.begin(), p.end(), [](int64_t v) { return v != 0; });
}

/// out(v) = acc(v), with acc(v) = 0 and acc(v) += term over r.
Func accumulate(const char *name, const std::vector<Var> &v, const Expr &term) {
  Func acc(fresh_name(kConvAcc)), out(fresh_name(name));
  acc(v) = 0.0f;
  acc(v) += term;
  out(v) = acc(v);
  return out;
}

// conv2d: y(f, ow, oh, n) = Σ_{c,kw,kh} xp(c, ow·sw+kw-pl, oh·sh+kh-pt, n) ·
// w(f, c, kw, kh)
Func lower_conv2d(const Node &n, std::span<const Value> in) {
  Geom g = geom(n);
  const Shape &xs = in[0].type.shape, &ws = in[1].type.shape;
  Func xp = zero_padded(in[0].func, xs, any_pad(n));
  Var f("f"), ow("ow"), oh("oh"), b("n");
  Halide::RDom r(0, int(ws[2]), 0, int(ws[1]), 0, int(ws[0]), fresh_name("tap"));
  Expr term = xp(r.x, ow * g.sw + r.y - g.pl, oh * g.sh + r.z - g.pt, b) *
              Func(in[1].func)(f, r.x, r.y, r.z);
  return accumulate("conv2d", {f, ow, oh, b}, term);
}

// conv2d_grad_input: dx(c, iw, ih, n) = Σ_{f,kw,kh} dy(f, ow, oh, n) · w(f, c,
// kw, kh) where ow·sw = iw+pl-kw and oh·sh = ih+pt-kh, inside the output. The
// filters are transposed to (c, f, kw, kh) first, so the vector over c is
// one load. The taps outside the output (or between strided pixels) are
// left out by the RDom's predicates rather than read as zeros: each
// conjunct becomes an `if` just inside the loops it depends on, so the
// rows' conditions skip whole f loops, and where schedule_conv unrolls a
// block of pixels and the taps along w, the columns' conditions fold to
// constants. The CNN's [13, 13, 32] input gradient of an 11 x 11 output
// does 121 of 169 pixels' taps. The clamps only keep the reads' bounds
// inside dy for bounds inference; the predicates already do at run time.
Func lower_conv2d_grad_input(const Node &n, std::span<const Value> in) {
  Geom g = geom(n);
  const Shape &ys = in[0].type.shape, &ws = in[1].type.shape;
  int OH = int(ys[1]), OW = int(ys[2]);
  Var c("c"), iw("iw"), ih("ih"), b("n"), f, kw, kh;
  Func wt(fresh_name(kConvWt));
  wt(c, f, kw, kh) = Func(in[1].func)(f, c, kw, kh);
  Halide::RDom r(0, int(ws[3]), 0, int(ws[1]), 0, int(ws[0]), fresh_name("tap"));
  Expr xw = iw + g.pl - r.y, xh = ih + g.pt - r.z; // ow·sw, oh·sh
  r.where(xh >= 0);
  r.where(xh <= (OH - 1) * g.sh);
  if (g.sh > 1)
    r.where(xh % g.sh == 0);
  r.where(xw >= 0);
  r.where(xw <= (OW - 1) * g.sw);
  if (g.sw > 1)
    r.where(xw % g.sw == 0);
  Expr dy = Func(in[0].func)(r.x, Halide::clamp(xw / g.sw, 0, OW - 1),
                             Halide::clamp(xh / g.sh, 0, OH - 1), b);
  return accumulate("conv2d_grad_input", {c, iw, ih, b}, dy * wt(c, r.x, r.y, r.z));
}

// conv2d_grad_filter: dw(f, c, kw, kh) = Σ_{ow,oh,n} xp(c, ow·sw+kw-pl,
// oh·sh+kh-pt, n) · dy(f, ow, oh, n)
Func lower_conv2d_grad_filter(const Node &n, std::span<const Value> in, const Expr &batch) {
  Geom g = geom(n);
  const Shape &xs = in[0].type.shape, &ys = in[1].type.shape;
  Func xp = zero_padded(in[0].func, xs, any_pad(n));
  Var f("f"), c("c"), kw("kw"), kh("kh");
  Halide::RDom r(0, int(ys[2]), 0, int(ys[1]), 0, extent(ys[0], batch), fresh_name("pix"));
  Expr term = xp(c, r.x * g.sw + kw - g.pl, r.y * g.sh + kh - g.pt, r.z) *
              Func(in[1].func)(f, r.x, r.y, r.z);
  return accumulate("conv2d_grad_filter", {f, c, kw, kh}, term);
}

/// x's value at tap (i, j) of window (ow, oh): x(c, ow·sw+j, oh·sh+i, n).
Expr tap(const Func &x, const Geom &g, Expr c, Expr ow, Expr oh, Expr n, int i, int j) {
  return Func(x)(c, ow * g.sw + j, oh * g.sh + i, n);
}

// max_pool2d: y(c, ow, oh, n) = max over the window, written tap by tap.
// avg_pool2d: y = (Σ over the window) / (kh·kw).
Func lower_pool(const Node &n, const Value &x) {
  Geom g = geom(n);
  Var c("c"), ow("ow"), oh("oh"), b("n");
  Expr acc;
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j) {
      Expr v = tap(x.func, g, c, ow, oh, b, i, j);
      acc = !acc.defined() ? v : n.op == OpKind::MaxPool2D ? Halide::max(acc, v) : acc + v;
    }
  Func out(fresh_name(op_name(n.op)));
  out(c, ow, oh, b) = n.op == OpKind::MaxPool2D ? acc : acc * (1.0f / float(g.kh * g.kw));
  return out;
}

/// dx(c, iw, ih, n) = Σ over the windows (ow, oh) covering (iw, ih) of
/// contribution(ow, oh, tap index i·kw+j). A pixel lies in at most
/// ceil(kh/sh) · ceil(kw/sw) windows: ow = iw/sw - a for a < ceil(kw/sw).
template <typename Contribution>
Func gather_windows(const char *name, const Geom &g, int OH, int OW, Contribution contribution) {
  Var c("c"), iw("iw"), ih("ih"), b("n");
  Expr sum = 0.0f;
  for (int a = 0; a < (g.kh + g.sh - 1) / g.sh; ++a)
    for (int d = 0; d < (g.kw + g.sw - 1) / g.sw; ++d) {
      Expr oh = ih / g.sh - a, ow = iw / g.sw - d;
      Expr i = ih - oh * g.sh,
           j = iw - ow * g.sw; // the pixel's tap in that window
      Expr valid = oh >= 0 && oh < OH && ow >= 0 && ow < OW && i < g.kh && j < g.kw;
      Expr ohc = Halide::clamp(oh, 0, OH - 1), owc = Halide::clamp(ow, 0, OW - 1);
      sum += Halide::select(valid, contribution(c, owc, ohc, b, i * g.kw + j), 0.0f);
    }
  Func out(fresh_name(name));
  out(c, iw, ih, b) = sum;
  return out;
}

// max_pool2d_grad: dx(c, iw, ih, n) = Σ_windows dy(c, ow, oh, n) ·
// [argmax(window) = the pixel's tap] The argmax is the first maximum in
// row-major window order (strict >).
Func lower_max_pool_grad(const Node &n, std::span<const Value> in) {
  Geom g = geom(n);
  const Shape &ys = in[1].type.shape;
  Func x = in[0].func, dy = in[1].func;
  auto contribution = [&](Expr c, Expr ow, Expr oh, Expr b, Expr t) {
    Expr best = tap(x, g, c, ow, oh, b, 0, 0), arg = 0;
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        if (i == 0 && j == 0)
          continue;
        Expr v = tap(x, g, c, ow, oh, b, i, j);
        arg = Halide::select(v > best, i * g.kw + j, arg);
        best = Halide::max(best, v);
      }
    return Halide::select(arg == t, dy(c, ow, oh, b), 0.0f);
  };
  return gather_windows("max_pool2d_grad", g, int(ys[1]), int(ys[2]), contribution);
}

// avg_pool2d_grad: dx(c, iw, ih, n) = Σ_windows dy(c, ow, oh, n) / (kh·kw)
Func lower_avg_pool_grad(const Node &n, const Value &dy) {
  Geom g = geom(n);
  const Shape &ys = dy.type.shape;
  float scale = 1.0f / float(g.kh * g.kw);
  Func d = dy.func;
  auto contribution = [&](Expr c, Expr ow, Expr oh, Expr b, Expr) {
    return d(c, ow, oh, b) * scale;
  };
  return gather_windows("avg_pool2d_grad", g, int(ys[1]), int(ys[2]), contribution);
}

} // namespace

Halide::Func lower_conv(const Node &n, std::span<const Value> in, const Halide::Expr &batch) {
  // Dispatch.cpp's switch sends exactly the Conv family here.
  if (n.op == OpKind::Conv2D)
    return lower_conv2d(n, in);
  if (n.op == OpKind::Conv2DGradInput)
    return lower_conv2d_grad_input(n, in);
  if (n.op == OpKind::Conv2DGradFilter)
    return lower_conv2d_grad_filter(n, in, batch);
  if (n.op == OpKind::MaxPool2D || n.op == OpKind::AvgPool2D)
    return lower_pool(n, in[0]);
  if (n.op == OpKind::MaxPool2DGrad)
    return lower_max_pool_grad(n, in);
  if (n.op == OpKind::AvgPool2DGrad)
    return lower_avg_pool_grad(n, in[0]);
  NETC_UNREACHABLE(std::string("not a conv-family op: ") + op_name(n.op));
}

//===----------------------------------------------------------------------===//
// Schedules
//===----------------------------------------------------------------------===//

namespace {

using Halide::TailStrategy;

/// The loop nest of `s` (a stage of the 4-D conv output v = (inner, blocked,
/// outer1, outer2)): blocks of `block` along v[1], the whole of v[0] inside
/// as vectors of `vw`, parallel over v[3] (the images).
void tile_conv_output(Halide::Stage s, const std::vector<Var> &v, int block, int vw,
                      TailStrategy tail) {
  Var bo("bo"), bi("bi");
  // One task per image: a task per row (rows x images fused) was a few µs
  // of work at 26 x 26 x 32, and the pool's per-task locking made the first
  // layer's conv slower on 2 threads (525 µs) than on one (330 µs).
  s.split(v[1], bo, bi, block, tail)
      .reorder(v[0], bi, bo, v[2], v[3])
      .vectorize(v[0], vw, tail)
      .parallel(v[3]);
}

/// The block along the output's second dimension, (vectors of channels) x
/// block accumulators, at most 8 wide. conv2d and conv2d_grad_filter: up
/// to 24 accumulators of the 32 zmm registers. The CNN's second layer (4
/// vectors of 64 filters) thus takes blocks of 6 pixels (forward) or 6
/// input channels (filter gradient); with 16 it took 4. A standalone Halide
/// benchmark of the same loop nests on one core, both blocks interleaved
/// rep by rep, ran the forward [64, 13, 13, 32] -> [64, 11, 11, 64] in
/// 2.54-2.58 ms against 2.82-2.86 (medians of 30-40, three runs) and its
/// filter gradient in 2.54 against 2.89. Layers of at most 3 vectors keep
/// blocks of 8.
/// conv2d_grad_input: up to kMaxAcc accumulators (two more registers hold
/// the filter vectors and one the broadcast), the block whose ShiftInwards
/// tiling of `blocked` computes the fewest extra pixels, then the largest:
/// the CNN's [13, 13, 32] input gradient takes one block of 13 pixels
/// instead of two shifted blocks of 8 (5.1 -> 2.8 ms in one alternating
/// run, 3.8 -> 3.8 and 5.0 -> 3.4 in two more). That choice made the
/// forward convolutions 1.5-2.5x slower when tried: for an 11-pixel row in
/// blocks of at most 6, the fewest extra pixels is a block of one.
int conv_block(OpKind op, int vectors, int blocked) {
  if (op != OpKind::Conv2DGradInput)
    return std::max(1, std::min({8, 24 / vectors, blocked}));
  constexpr int kMaxAcc = 26;
  int best = 1, best_extra = 0;
  for (int b = 1; b <= std::min(kMaxAcc / vectors, blocked); ++b) {
    int extra = (blocked + b - 1) / b * b - blocked;
    if (b == 1 || extra < best_extra || (extra == best_extra && b > best))
      best = b, best_extra = extra;
  }
  return best;
}

/// The filter gradient sums over every output pixel of the batch. `acc`
/// (the whole [KH, KW, C, F], small) is computed at the root with the
/// images in chunks outermost, so each chunk's x and dy stay in cache while
/// every tap and block of `block` input channels is accumulated from them;
/// within a block, the registers hold (F / vw) x block accumulators across
/// the pixel loops. Taps and channel blocks are parallel.
void schedule_grad_filter(Func acc, int w, int block, const Shape &filters) {
  std::vector<Var> v = acc.args(); // f, c, kw, kh
  std::vector<Halide::Internal::ReductionVariable> rv = acc.update().get_schedule().rvars();
  Halide::RVar ow(rv[0].var), oh(rv[1].var), n(rv[2].var), no("no"), ni("ni");
  Var co("co"), ci("ci"), t("t"), ct("ct");
  acc.compute_root().vectorize(v[0], w, TailStrategy::GuardWithIf);
  int64_t kh = filters[0], kw = filters[1], c = filters[2];
  int vectors = static_cast<int>((filters[3] + w - 1) / w);
  if (vectors * c * kh * kw <= 24) {
    // Few channels (a first layer on grey images): every tap's and
    // channel's accumulators stay in registers across the pixel loops, so
    // each pixel's dy vectors are loaded once for all taps instead of once
    // per tap (the [3, 3, 1, 32] filter gradient read dy nine times). That
    // leaves no pure loop to run in parallel, so the images are summed in
    // parallel chunks of kImages (rfactor_chunks).
    constexpr int kImages = 8;
    Var u("u");
    Func partial = rfactor_chunks(acc, n, no, ni, kImages, u, w);
    partial.update()
        .reorder(v[0], v[1], v[2], v[3], ow, oh, ni, u)
        .vectorize(v[0], w, TailStrategy::GuardWithIf)
        .unroll(v[0])
        .unroll(v[1])
        .unroll(v[2])
        .unroll(v[3])
        .parallel(u);
    acc.update().vectorize(v[0], w, TailStrategy::GuardWithIf);
    return;
  }
  // Parallel over every (channel block, tap) of a chunk: 72 tasks for the
  // CNN's [3, 3, 32, 64] instead of 9 taps, which split 5:4 over 2 threads.
  acc.update()
      .split(n, no, ni, 8, TailStrategy::GuardWithIf)
      .split(v[1], co, ci, block, TailStrategy::GuardWithIf)
      .reorder(v[0], ci, ow, oh, ni, co, v[2], v[3], no)
      .vectorize(v[0], w, TailStrategy::GuardWithIf)
      .unroll(v[0])
      .unroll(ci)
      .fuse(v[2], v[3], t)
      .fuse(co, t, ct)
      .parallel(ct);
}

} // namespace

bool schedule_conv(const Node &n, Halide::Func out, const Halide::Target &target,
                   bool exact_tails) {
  OpKind op = n.op;
  bool conv = op == OpKind::Conv2D || op == OpKind::Conv2DGradInput ||
              op == OpKind::Conv2DGradFilter;
  int vw = target.natural_vector_size(Halide::Float(32));
  std::optional<Func> acc;
  std::vector<Func> pads, filters;
  for (const auto &[name, f] : Halide::Internal::find_transitive_calls(out.function())) {
    if (starts_with(name, kConvAcc))
      acc = Func(f);
    else if (starts_with(name, kConvPad))
      pads.emplace_back(f);
    else if (starts_with(name, kConvWt))
      filters.emplace_back(f);
  }
  // Pools are pointwise: the default schedule fits them. A kernel whose
  // root is the epilogue of a conv2d (Fusion.cpp: bias, activation, on the
  // conv's shape) is tiled as the conv would be.
  if (!conv && !acc)
    return false;
  NETC_ASSERT(acc.has_value(), "conv kernel without its accumulator");
  if (!conv)
    op = OpKind::Conv2D;
  for (Func p : pads) // zero-padded copies: unconditional reads
    p.compute_root().vectorize(p.args()[0], vw, TailStrategy::GuardWithIf);
  for (Func w : filters) // the transposed filters, read once per tap
    w.compute_root();
  std::vector<Var> v = out.args();
  // Inner extent (channels) and the blocked one, both static.
  // IR dims 3 and 2: f and ow (conv2d), c and iw (grad_input), f and c
  // (grad_filter).
  int inner = int(n.type.shape[3]), blocked = int(n.type.shape[2]);
  int w = std::min(vw, pow2_below(inner));
  int vectors = (inner + w - 1) / w;
  int block = conv_block(op, vectors, blocked);
  // Static extents let the channel loops unroll: every dimension but N.
  Halide::OutputImageParam buf = out.output_buffers()[0];
  for (int d = 0; d < 4; ++d)
    if (int64_t e = n.type.shape[3 - d]; e != kBatch)
      buf.dim(d).set_bounds(0, int(e));
  Expr full = buf.dim(0).extent() >= w && buf.dim(1).extent() >= block;
  tile_conv_output(out.specialize(full), v, block, w,
                   exact_tails ? TailStrategy::GuardWithIf : TailStrategy::ShiftInwards);
  tile_conv_output(out, v, block, w, TailStrategy::GuardWithIf);
  if (op == OpKind::Conv2DGradFilter) {
    schedule_grad_filter(*acc, w, block, n.type.shape);
    return true;
  }
  std::vector<Var> av = acc->args();
  std::vector<Halide::VarOrRVar> order{av[0], av[1]};
  std::vector<Halide::Internal::ReductionVariable> rv = acc->update().get_schedule().rvars();
  for (const Halide::Internal::ReductionVariable &r : rv)
    order.emplace_back(Halide::RVar(r.var));
  acc->compute_at(out, Var("bo")).vectorize(av[0], w, TailStrategy::GuardWithIf);
  Halide::Stage update = acc->update();
  update.reorder(order)
      .vectorize(av[0], w, TailStrategy::GuardWithIf)
      .unroll(av[0])
      .unroll(av[1]);
  // The taps along w (outside the f loop) unrolled too: the input
  // gradient's column predicates then depend only on constants.
  if (op == OpKind::Conv2DGradInput)
    update.unroll(Halide::RVar(rv[1].var));
  return true;
}

} // namespace netc::hl
