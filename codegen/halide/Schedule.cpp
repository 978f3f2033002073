//===- Schedule.cpp - Default CPU schedules for a kernel's output ---------===//
//
// schedule_output schedules a kernel's root Func and the reductions its
// definition reaches (every other Func in the kernel is pure and inlined):
//
//   * pointwise stages: the innermost Var vectorised by the target's natural
//     width, the outermost parallel (a kernel's output only from
//     kParallelMin elements: below that the pool's wake-up costs more);
//   * reductions: the pure Vars vectorised with the reduction loops outside
//     them, unless the reduced axes include the innermost one (then the
//     reduction loop stays innermost and serial); parallel over the outermost
//     pure Var, or, for a sum down to one dimension (a bias gradient), over
//     chunks of its outermost reduced axis through rfactor;
//   * a 2-D transpose: tiles of vw x vw, a vector per row of the tile;
//   * scatter_add: the zeroing stage pointwise, the update over the ids
//     serial (ids may repeat), vectorised along the row;
//   * matmul: panels of 4 vectors of columns, the right operand's panel
//     packed contiguously (or read in place where a scan packed it before
//     its loop: Kernel::packed_rhs), swept by blocks of 6 rows whose
//     accumulators stay in registers (schedule_matmul_panels; blocks of
//     rows outermost for an optimizer's step fused in place);
//     narrow or short outputs keep Halide's classic schedule: 32 x 32
//     tiles (fused), blocks of 8 rows x 2 vectors in registers (the matmul
//     accumulator is computed at the block, its update reordered so the
//     reduction over K is outermost in the block, and the block
//     unrolled). Either is parallel only from kParallelMacs multiply-adds.
//     A kernel whose root is an elementwise epilogue of a matmul (bias,
//     activation) is tiled the same way around the accumulator; long
//     reductions (the sums after a scan) block K and run panels inside
//     each block (schedule_matmul_long).
//
// Tails use GuardWithIf or ShiftInwards, never RoundUp, so any extent works
// (batch 1 or 13, 10 classes); tiled paths are partitioned by Halide into a
// steady state and an epilogue.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {
namespace {

using Halide::Func;
using Halide::Stage;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

bool contains(const std::string &s, const char *part) {
  return s.find(part) != std::string::npos;
}

/// Elements worth one parallel task of a pointwise loop or a concat's
/// piece: a task costs a few µs of the pool's locking on the 2-vCPU
/// machines. With a task per row, an LSTM's [256, 640] concat (five
/// pieces) took 190 µs on 2 threads against 57 on one; with two tasks per
/// piece, 17-19.
constexpr int64_t kParallelGrain = 16384;

/// Elements below which a pointwise loop over a kernel's output runs on one
/// thread: waking the pool's workers and joining them costs several µs on
/// the 2-vCPU machines, more than the loop itself at this size (an LSTM
/// step's [64, 128] gates ran 3-4x slower on 2 threads than on one).
constexpr int64_t kParallelMin = 65536;

/// Whether `f`'s output buffer (a pipeline output) has at least
/// kParallelMin elements, each counted `weight` times: the run-time
/// condition of its parallel loops.
Halide::Expr big_output(const Func &f, int64_t weight = 1) {
  Halide::OutputImageParam buf = f.output_buffers()[0];
  Halide::Expr n = Halide::Expr(weight);
  for (int d = 0; d < f.dimensions(); ++d)
    n = n * Halide::cast<int64_t>(buf.dim(d).extent());
  return n >= Halide::Expr(kParallelMin);
}

/// Parallelises the outermost of `vars` of stage `s`: tasks of about
/// kParallelGrain elements for narrow rows, one per outer index otherwise.
void parallelize(Stage s, const std::vector<Var> &vars, int64_t inner_extent) {
  if (vars.size() == 2 && inner_extent > 0 && inner_extent < kParallelGrain) {
    // Narrow rows ([512, 10]): a parallel task per row would cost more than
    // the row; tasks of about kParallelGrain elements instead.
    Var o, oi;
    s.split(vars.back(), o, oi, static_cast<int>(kParallelGrain / inner_extent),
            TailStrategy::GuardWithIf)
        .parallel(o);
  } else if (vars.size() >= 2) {
    s.parallel(vars.back());
  }
}

/// Vectorises the innermost of `vars` (Halide order) and parallelises the
/// outermost of a pointwise stage; with `parallel_if` (big_output, when
/// the stage is a kernel's output) only where that holds. `inner_extent` is
/// the innermost extent when known statically (> 0), which allows
/// ShiftInwards on a pure stage.
void schedule_pointwise(Stage s, const std::vector<Var> &vars, int vw, int64_t inner_extent,
                        bool pure, bool exact = false,
                        Halide::Expr parallel_if = Halide::Expr()) {
  if (vars.empty())
    return;
  if (exact && inner_extent > 0 && inner_extent <= vw) {
    // The whole row as one vector (odd widths included): no tail to guard.
    if (inner_extent > 1)
      s.vectorize(vars[0]);
  } else if (pure && inner_extent > 0 && !exact) {
    // A fixed-width vector loop; the last vector shifts inwards to fit.
    int w = std::min(vw, pow2_below(inner_extent));
    if (w > 1)
      s.vectorize(vars[0], w, TailStrategy::ShiftInwards);
  } else {
    s.vectorize(vars[0], vw, TailStrategy::GuardWithIf);
  }
  if (vars.size() < 2)
    return;
  parallelize(parallel_if.defined() ? s.specialize(parallel_if) : s, vars, inner_extent);
}

/// Every update stage of a reduction Func: see the file comment.
void schedule_updates(Func f, int vw, bool inner_reduced) {
  std::vector<Var> vars = f.args();
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    Stage s = f.update(u);
    std::vector<VarOrRVar> order;
    for (const Halide::Internal::ReductionVariable &rv : s.get_schedule().rvars())
      order.emplace_back(Halide::RVar(rv.var));
    if (order.empty() || vars.empty()) { // a pointwise update (mean's division)
      schedule_pointwise(s, vars, vw, 0, false);
      continue;
    }
    if (vars.size() >= 2)
      s.parallel(vars.back());
    if (inner_reduced) { // the reduction loop stays innermost and serial
      if (vars.size() < 2)
        s.unscheduled();
      continue;
    }
    Var vo, vi;
    s.split(vars[0], vo, vi, vw, TailStrategy::GuardWithIf).vectorize(vi);
    // Innermost first: the vector, the rest of its row, then the reduction.
    order.insert(order.begin(), {vi, vo});
    s.reorder(order);
  }
}

/// A sum down to one dimension over outer axes (a bias gradient: [N, H, W,
/// C] -> [C]) has no pure loop to run in parallel. Its outermost reduced
/// axis (the batch) is summed in parallel chunks of about kParallelMin
/// elements (rfactor_chunks). Returns false, scheduling nothing, when the sum is
/// not of that kind or its outermost axis is statically at most one chunk.
/// The first conv layer's [64, 26, 26, 32] bias gradient (16 chunks of 4
/// images) ran serially at 0.19 ms on 2 threads as on one.
bool schedule_sum_rfactor(Func f, int vw, int64_t out_extent) {
  if (f.dimensions() != 1 || out_extent <= 0 || contains(f.name(), kInnerTag) ||
      !(starts_with(f.name(), op_name(OpKind::ReduceSum)) ||
        starts_with(f.name(), op_name(OpKind::ReduceMean))))
    return false;
  std::vector<Halide::Internal::ReductionVariable> rv = f.update(0).get_schedule().rvars();
  // Elements one index of the outermost reduced axis contributes.
  int64_t per_outer = out_extent;
  for (size_t i = 0; i + 1 < rv.size(); ++i) {
    const int64_t *e = Halide::Internal::as_const_int(rv[i].extent);
    if (!e)
      return false;
    per_outer *= *e;
  }
  int64_t chunk = std::max<int64_t>(1, kParallelMin / per_outer);
  const int64_t *outer = Halide::Internal::as_const_int(rv.back().extent);
  if (outer && *outer <= chunk)
    return false;
  Halide::RVar ro("ro"), ri("ri");
  Var u("u"), c = f.args()[0];
  Func partial =
      rfactor_chunks(f, Halide::RVar(rv.back().var), ro, ri, static_cast<int>(chunk), u, vw);
  // Each task: the chunk's reduction loops outside the vectors of c.
  std::vector<VarOrRVar> order{c};
  for (size_t i = 0; i + 1 < rv.size(); ++i)
    order.emplace_back(Halide::RVar(rv[i].var));
  order.insert(order.end(), {ri, u});
  partial.update()
      .reorder(order)
      .vectorize(c, vw, TailStrategy::GuardWithIf)
      .parallel(u);
  // The output: the partials added chunk by chunk, vectors of c innermost
  // (the RVar's name after rfactor is qualified, so the object `ro` names
  // it); then reduce_mean's division.
  schedule_pointwise(f, f.args(), vw, 0, true);
  Var co("co"), ci("ci");
  f.update(0)
      .split(c, co, ci, vw, TailStrategy::GuardWithIf)
      .vectorize(ci)
      .reorder(ci, co, ro);
  for (int i = 1; i < f.num_update_definitions(); ++i)
    schedule_pointwise(f.update(i), f.args(), vw, 0, false);
  return true;
}

/// A reduction Func that is not the matmul accumulator.
void schedule_reduction(Func f, int vw, int64_t inner_extent) {
  if (schedule_sum_rfactor(f, vw, inner_extent))
    return;
  bool inner = contains(f.name(), kInnerTag);
  schedule_pointwise(f, f.args(), vw, f.has_update_definition() ? 0 : inner_extent, true);
  schedule_updates(f, vw, inner);
}

/// Register-block sizes for matmul: columns (a multiple of the vector
/// width `vec`) and rows, and the rows of a tile.
struct MatmulBlock {
  int cols, vec, rows, tile_rows;
};
/// `cols_extent`: the output's column count P when static, else 0. Narrow
/// outputs use one vector: P lanes when P <= vw (the 10 classes of a
/// classifier: no tail at all, LLVM splits the odd width), else vw lanes.
/// `rows_extent`: the row count M when static, else 0. A static M below the
/// 32-row tile takes the largest whole number of blocks that fits as its
/// tile (24 rows for a [28, 512] weight gradient, whose two tiles overlap),
/// so it runs the full-tile loop nest instead of the guarded one (9 times
/// slower there); fewer rows than a block make the block.
MatmulBlock matmul_block(int vw, int64_t cols_extent, int64_t rows_extent = 0) {
  // AVX-512: 8 rows x 2 vectors = 16 of 32 zmm accumulators; AVX2: 4 x 2 of 16.
  int rows = vw >= 16 ? 8 : 4, tile_rows = 32;
  if (rows_extent > 0 && rows_extent < tile_rows) {
    rows = static_cast<int>(std::min<int64_t>(rows, rows_extent));
    tile_rows = static_cast<int>(rows_extent / rows * rows);
  }
  if (cols_extent > 0 && cols_extent < 2 * vw) {
    int w = static_cast<int>(std::min<int64_t>(vw, cols_extent));
    return MatmulBlock{w, w, rows, tile_rows};
  }
  return MatmulBlock{2 * vw, vw, rows, tile_rows};
}

/// The accumulator computed on its own (its consumer is not tileable): the
/// update blocked over rows and vectorised over columns.
void schedule_matmul_alone(Func acc, int vw) {
  MatmulBlock b = matmul_block(vw, 0);
  Var j = acc.args()[0], i = acc.args()[1];
  schedule_pointwise(acc, acc.args(), vw, 0, true);
  Halide::RVar k(acc.update().get_schedule().rvars()[0].var);
  Var io, ii, jo, ji;
  acc.update()
      .split(i, io, ii, b.rows, TailStrategy::GuardWithIf)
      .split(j, jo, ji, vw, TailStrategy::GuardWithIf)
      .reorder(ji, ii, k, jo, io)
      .vectorize(ji)
      .parallel(io);
}

/// Tiles `s`, a stage of the 2-D output, into the loop nest the accumulator
/// is computed in: tiles (fused, parallel) > blocks of rows > rows > columns.
void tile_matmul_output(Stage s, const Var &j, const Var &i, const MatmulBlock &b,
                        TailStrategy tail, bool parallel) {
  Var jo("jo"), io("io"), ji("ji"), ii("ii"), iii("iii"), t("tile");
  s.tile(j, i, jo, io, ji, ii, b.cols, b.tile_rows, tail)
      .split(ii, ii, iii, b.rows, tail)
      .reorder(ji, iii, ii, jo, io)
      .vectorize(ji, b.vec)
      .unroll(iii)
      .fuse(jo, io, t);
  if (parallel)
    s.parallel(t);
}

/// Multiply-adds below which a matmul runs on the calling thread. On
/// Halide's pool an LSTM step's [64,128]x[128,512] (4.2 M) took as long on
/// 2 threads as on one, the workers' wake-up and join costing what the
/// second core saved (the bound was 8.4 M). On netc's pool, whose workers
/// spin between loops (runtime/TaskPool.h), it pays: alternating 2-thread
/// runs of examples/lstm.net at batch 64, 7,500-9,500 samples/s against
/// 7,300-8,000 with the old bound. Below 2 M (its x_t.W, [64,28]x[28,512],
/// 0.9 M; the 10-class products) a task is too short.
constexpr int64_t kParallelMacs = int64_t(1) << 21;

/// Whether the matmul accumulated by `acc` into `out` is worth a parallel
/// loop at run time: M x P x K >= kParallelMacs.
Halide::Expr matmul_is_big(Func out, Func acc) {
  Halide::OutputImageParam buf = out.output_buffers()[0];
  Halide::Expr k = acc.update().get_schedule().rvars()[0].extent;
  return Halide::cast<int64_t>(buf.dim(0).extent()) * Halide::cast<int64_t>(buf.dim(1).extent()) *
             Halide::cast<int64_t>(k) >=
         Halide::Expr(kParallelMacs);
}

/// `out` (2-D, a pipeline output) tiled around the matmul accumulator
/// `acc`. When the output is at least one tile in each direction, the tiles
/// shift inwards at the edges, so every register block is full-sized and
/// fully unrolled; smaller outputs (M or P below a tile, e.g. batch 1) take
/// a guarded version of the same loop nest.
void schedule_matmul(Func out, Func acc, int vw, bool exact, int64_t cols_extent,
                     int64_t rows_extent) {
  MatmulBlock b = matmul_block(vw, cols_extent, rows_extent);
  Var j = out.args()[0], i = out.args()[1];
  Halide::OutputImageParam buf = out.output_buffers()[0];
  Halide::Expr full = buf.dim(0).extent() >= b.cols && buf.dim(1).extent() >= b.tile_rows;
  TailStrategy tail = exact ? TailStrategy::GuardWithIf : TailStrategy::ShiftInwards;
  tile_matmul_output(out.specialize(full && matmul_is_big(out, acc)), j, i, b, tail, true);
  tile_matmul_output(out.specialize(full), j, i, b, tail, false);
  tile_matmul_output(out, j, i, b, TailStrategy::GuardWithIf, false);
  Var aj = acc.args()[0], ai = acc.args()[1];
  Halide::RVar k(acc.update().get_schedule().rvars()[0].var);
  // The rows the accumulator covers are a constant b.rows inside full
  // tiles, but a static row count that is not a whole number of blocks
  // leaves the guarded version a variable extent (8 - 8 * ii for 8 rows in a
  // 32-row tile): unroll by the block with a guard, which is free when the
  // extent is the constant.
  acc.compute_at(out, Var("ii"))
      .vectorize(aj, b.vec, TailStrategy::GuardWithIf)
      .unroll(ai, b.rows, TailStrategy::GuardWithIf);
  acc.update()
      .reorder(aj, ai, k)
      .vectorize(aj, b.vec, TailStrategy::GuardWithIf)
      .unroll(ai, b.rows, TailStrategy::GuardWithIf);
  if (b.cols > b.vec) // several vectors per row of the block
    acc.update().unroll(aj);
}

/// The packed right operand the accumulator `acc` reads, if any.
std::optional<Func> matmul_rhs(const Func &acc) {
  for (const auto &[name, f] : Halide::Internal::find_direct_calls(acc.function()))
    if (starts_with(name, kMatmulRhs))
      return Func(f);
  return std::nullopt;
}

/// The panel schedule (the GEBP loop of BLIS-style GEMMs): the output is cut
/// into panels of kPanelVectors vectors of columns; for each panel the right
/// operand's K x cols block is packed once into a contiguous buffer (its
/// rows of the full matrix lie a whole row pitch apart, which maps them onto
/// a few L1 sets), then every block of kPanelRows rows sweeps it with the
/// block's accumulators in registers (6 x 4 zmm = 24 of 32 on AVX-512,
/// 6 x 2 ymm = 12 of 16 on AVX2). Parallel over panels, or over row blocks
/// when there are fewer than two panels. At [64,784]x[784,512] on one core
/// this runs at 1.5x schedule_matmul (docs/codegen.md, "Schedules").
constexpr int kPanelRows = 6;
int panel_cols(int vw) { return (vw >= 16 ? 4 : 2) * vw; }

bool use_panels(int vw, int64_t cols_extent, int64_t rows_extent) {
  return (cols_extent == 0 || cols_extent >= panel_cols(vw)) &&
         (rows_extent == 0 || rows_extent >= kPanelRows);
}

/// Bytes of the right operand below which an optimizer step's matmul runs
/// its row blocks outermost (see schedule_matmul_panels).
constexpr int64_t kRowsOuterRhsBytes = int64_t(1) << 20;

void schedule_matmul_panels(Func out, Func acc, Func rhs, int vw, bool exact, bool streams_state,
                            int64_t cols_extent, bool rhs_packed) {
  int cols = panel_cols(vw);
  Var j = out.args()[0], i = out.args()[1];
  Halide::OutputImageParam buf = out.output_buffers()[0];
  Halide::Expr full = buf.dim(0).extent() >= cols && buf.dim(1).extent() >= kPanelRows;
  bool rows_parallel = cols_extent > 0 && cols_extent < 2 * cols;
  // The right operand is packed at loop `pack`, the accumulator block
  // computed at loop `block`. Panels outermost: pack = the panel, block =
  // the block of rows within it.
  auto tile = [&](Stage s, TailStrategy tail, bool parallel) {
    Var pack("pack"), ji("ji"), block("block"), ii("ii");
    s.split(j, pack, ji, cols, tail)
        .split(i, block, ii, kPanelRows, tail)
        .reorder(ji, ii, block, pack)
        .vectorize(ji, vw)
        .unroll(ii);
    if (parallel)
      s.parallel(rows_parallel ? block : pack);
  };
  // Rows outermost, for an optimizer's step fused into a weight gradient
  // (`streams_state`: it reads and writes the weights and their moments in
  // place, each as large as the output): a block of rows sweeps every
  // panel, so those arrays stream row after row instead of 256 bytes of
  // each of 6 rows per panel, and the right operand (K x P, below
  // kRowsOuterRhsBytes: the batch's dY of a weight gradient) is copied
  // whole at a `pack` loop of one iteration and stays in L2. The block is
  // the panel within the rows. In a harness of the MLP's
  // [784, N] x [N, 512] with the momentum step in place, one thread, the
  // best of 6 alternating runs: 1,398 against 1,508 us at N = 256, 386
  // against 432 at N = 64. Not for a scan's sum at every step, which reads
  // only what the output holds (Kernel::accumulate): lstm.net's trainers
  // ran 8-9 % slower with its per-step dW and dU so ordered (ab.py, B/A
  // 1.092 at batch 256 and 1.078 at 64 for the panel order).
  auto tile_rows_outer = [&](Stage s, bool parallel) {
    Var pack("pack"), rows("rows"), ri("ri"), ji("ji"), block("block"), ii("ii");
    TailStrategy tail = TailStrategy::GuardWithIf;
    s.split(j, block, ji, cols, tail)
        .split(i, rows, ii, kPanelRows, tail)
        .reorder(ji, ii, block, rows)
        .split(rows, pack, ri, (buf.dim(1).extent() + kPanelRows - 1) / kPanelRows, tail) // once
        .vectorize(ji, vw)
        .unroll(ii);
    if (parallel)
      s.parallel(ri);
  };
  TailStrategy tail = exact ? TailStrategy::GuardWithIf : TailStrategy::ShiftInwards;
  if (streams_state && !rhs_packed) {
    Halide::Expr k = acc.update().get_schedule().rvars()[0].extent;
    Halide::Expr small = Halide::cast<int64_t>(k) * Halide::cast<int64_t>(buf.dim(0).extent()) * 4 <=
                         Halide::Expr(kRowsOuterRhsBytes);
    tile_rows_outer(out.specialize(full && small && matmul_is_big(out, acc)), true);
    tile_rows_outer(out.specialize(full && small), false);
  }
  tile(out.specialize(full && matmul_is_big(out, acc)), tail, true);
  tile(out.specialize(full), tail, false);
  tile(out, TailStrategy::GuardWithIf, false);
  if (!rhs_packed) // else read in place from the panels packed before the loop
    rhs.compute_at(out, Var("pack")).vectorize(rhs.args()[0], vw, TailStrategy::GuardWithIf);
  Var aj = acc.args()[0], ai = acc.args()[1];
  Halide::RVar k(acc.update().get_schedule().rvars()[0].var);
  acc.compute_at(out, Var("block"))
      .vectorize(aj, vw, TailStrategy::GuardWithIf)
      .unroll(ai, kPanelRows, TailStrategy::GuardWithIf);
  acc.update()
      .reorder(aj, ai, k)
      .vectorize(aj, vw, TailStrategy::GuardWithIf)
      .unroll(ai, kPanelRows, TailStrategy::GuardWithIf)
      .unroll(aj);
}

/// A matmul whose reduction is long (K in the thousands) and output small:
/// the accumulator is the whole output (compute_root) and its update is
/// split along K into blocks of kBlockK rows; within a block, panel by
/// panel, the right operand's kBlockK x 64 block is packed (32 KB, in the
/// 48 KB L1) and swept by blocks of 6 rows with their accumulators in
/// registers (the panel schedule, loaded from and stored to the output
/// once per K block). Parallel over panels. Without the K blocking a whole
/// panel of the LSTM's after-loop weight gradient at batch 256 (K = N·T =
/// 7,168) is 1.8 MB; the previous schedule (8 x 2 blocks over an unpacked
/// operand) ran it at about 85 GFLOP/s against 130 here ([128,7168]x
/// [7168,512], one thread). Blocks of 128 rows against 256 (a 64 KB panel,
/// in L2), four interleaved rounds of `netc bench examples/lstm.net
/// --threads 1`: that product 6.35-6.52 against 6.73-6.80 ms at batch 256,
/// 1.57 against 1.61-1.62 ms at 64; the [28, N·T] x [N·T, 512] input
/// weight gradient 1.76-1.79 against 1.97-2.00 ms, and 443-446 against
/// 477-487 µs. Blocks of 64 were no better than 128.
void schedule_matmul_long(Func out, Func acc, std::optional<Func> rhs, int vw) {
  constexpr int kBlockK = 128;
  schedule_pointwise(out, out.args(), vw, 0, true);
  acc.compute_root();
  Var j = acc.args()[0], i = acc.args()[1];
  acc.vectorize(j, vw, TailStrategy::GuardWithIf);
  Halide::RVar k(acc.update().get_schedule().rvars()[0].var);
  Halide::RVar ko("ko"), ki("ki");
  Var jo("jo"), ji("ji"), ib("ib"), ii("ii");
  acc.update()
      .split(k, ko, ki, kBlockK, TailStrategy::GuardWithIf)
      .split(j, jo, ji, panel_cols(vw), TailStrategy::GuardWithIf)
      .split(i, ib, ii, kPanelRows, TailStrategy::GuardWithIf)
      .reorder(ji, ii, ki, ib, jo, ko)
      .vectorize(ji, vw)
      .unroll(ji)
      .unroll(ii)
      .parallel(jo);
  if (rhs)
    rhs->compute_at(acc, jo).vectorize(rhs->args()[0], vw, TailStrategy::GuardWithIf);
}

/// The Funcs with update definitions that `out`'s definition reaches.
std::vector<Func> reductions_below(const Func &out) {
  std::vector<Func> found;
  for (const auto &[name, f] : Halide::Internal::find_transitive_calls(out.function()))
    if (name != out.name() && f.has_update_definition())
      found.emplace_back(f);
  return found;
}

/// Static extent of the innermost dimension of `t`, or 0 for N or a scalar.
int64_t inner_extent(const TensorType &t) {
  return t.rank() == 0 || t.shape.back() == kBatch ? 0 : t.shape.back();
}

} // namespace

bool is_transcendental(OpKind op) {
  return op == OpKind::Exp || op == OpKind::Log || op == OpKind::Sigmoid || op == OpKind::Tanh ||
         op == OpKind::Cos || op == OpKind::Pow;
}

void schedule_flatten_copy(Halide::Func out, int64_t row, const Halide::Target &target) {
  int vw = target.natural_vector_size(Halide::Float(32));
  std::vector<Var> vars = out.args();
  Var o("o"), r("r");
  // Splitting the flat index by the input's row length turns `j % row` and
  // `j / row` into the loop variables: contiguous vector loads, no division.
  out.split(vars[0], o, r, static_cast<int>(row), TailStrategy::GuardWithIf)
      .vectorize(r, std::min(vw, pow2_below(row)), TailStrategy::ShiftInwards);
  if (vars.size() >= 2)
    out.parallel(vars.back());
}

int64_t matmul_panel_cols(const Halide::Target &target) {
  return panel_cols(target.natural_vector_size(Halide::Float(32)));
}

void schedule_output(const Node &n, Halide::Func out, const Halide::Target &target,
                     bool exact_tails, bool streams_state, bool long_reduction, int costly,
                     bool rhs_packed, const std::vector<Halide::Func> &co_outputs) {
  if (schedule_conv(n, out, target, exact_tails)) // conv2d, its gradients: codegen/halide/Conv.cpp
    return;
  int vw = target.natural_vector_size(Halide::Float(32));
  std::optional<Func> acc;
  for (Func f : reductions_below(out)) {
    if (starts_with(f.name(), kMatmulAcc) && out.dimensions() == 2 &&
        !out.has_update_definition() && !acc) {
      acc = f; // tiled with the output below
      continue;
    }
    f.compute_root();
    if (starts_with(f.name(), kMatmulAcc))
      schedule_matmul_alone(f, vw);
    else
      schedule_reduction(f, vw, 0);
  }
  if (acc && long_reduction && !exact_tails) {
    schedule_matmul_long(out, *acc, matmul_rhs(*acc), vw);
    return;
  }
  if (acc) {
    int64_t rows = n.type.rank() >= 2 ? n.type.shape[static_cast<size_t>(n.type.rank() - 2)] : 0;
    rows = rows == kBatch ? 0 : rows;
    std::optional<Func> rhs = matmul_rhs(*acc);
    if (rhs && use_panels(vw, inner_extent(n.type), rows))
      schedule_matmul_panels(out, *acc, *rhs, vw, exact_tails, streams_state, inner_extent(n.type),
                             rhs_packed);
    else
      schedule_matmul(out, *acc, vw, exact_tails, inner_extent(n.type), rows);
    return;
  }
  if (starts_with(out.name(), kScatterAdd)) {
    // Zero the rows in parallel; the update loops over the ids serially (two
    // ids may name one row), each row added as vectors.
    schedule_pointwise(out, out.args(), vw, 0, true, exact_tails);
    out.update().vectorize(out.args()[0], vw, TailStrategy::GuardWithIf);
    return;
  }
  if (starts_with(out.name(), kConcatRoot)) {
    // One update per piece (Movement.cpp): each a pointwise loop nest over
    // its own range, vectorised along the innermost dimension (the piece's
    // RVar when the concat is along it) and parallel over the outermost.
    int rank = out.dimensions();
    for (int i = 0; i < out.num_update_definitions(); ++i) {
      Stage s = out.update(i);
      std::vector<Halide::RVar> r = out.rvars(i);
      bool along_inner = out.update_args(i)[0].as<Halide::Internal::Variable>() == nullptr;
      if (along_inner)
        s.vectorize(r[0], vw, TailStrategy::GuardWithIf);
      else
        s.vectorize(out.args()[0], vw, TailStrategy::GuardWithIf);
      if (rank < 2 || out.update_args(i)[rank - 1].as<Halide::Internal::Variable>() == nullptr)
        continue;
      // Tasks of whole rows of this piece, about kParallelGrain elements.
      // A dimension spans the piece's static width where the update
      // indexes it through the RDom, the output's extent elsewhere (N
      // counts as 1).
      const int64_t *piece = r.empty() ? nullptr : Halide::Internal::as_const_int(r[0].extent());
      int64_t row = 1;
      for (int d = 0; d + 1 < rank; ++d) {
        bool along = !out.update_args(i)[d].as<Halide::Internal::Variable>() && piece;
        int64_t e = along ? *piece : n.type.shape[static_cast<size_t>(rank - 1 - d)];
        row *= e == kBatch ? 1 : e;
      }
      Var o("o"), oi("oi");
      s.specialize(big_output(out))
          .split(out.args()[static_cast<size_t>(rank - 1)], o, oi,
                 static_cast<int>(std::max<int64_t>(1, kParallelGrain / row)),
                 TailStrategy::GuardWithIf)
          .parallel(o);
    }
    return;
  }
  if (out.has_update_definition()) {
    schedule_reduction(out, vw, inner_extent(n.type));
    return;
  }
  if (n.op == OpKind::Transpose && n.type.rank() == 2) {
    // Tiles of vw x vw: a vector of the output reads one element of vw
    // input rows, so the tile's vw vectors share those rows' vw cache
    // lines (a whole row of the output per vector would read each element
    // from a different line: lstm.net's [128, 512] weight, 76 us).
    Var x = out.args()[0], y = out.args()[1], xo("xo"), yo("yo"), xi("xi"), yi("yi");
    out.tile(x, y, xo, yo, xi, yi, vw, vw, TailStrategy::GuardWithIf).vectorize(xi).unroll(yi);
    out.specialize(big_output(out)).parallel(yo);
    return;
  }
  // An element of a kernel with transcendental functions (exp, tanh, ...:
  // a polynomial and a division each) costs about 4 of a plain one: an
  // LSTM's [256, 128] sigmoid is worth two threads, its [64, 128] is not.
  schedule_pointwise(out, out.args(), vw, inner_extent(n.type), true, exact_tails,
                     big_output(out, 1 + 3 * int64_t(costly)));
  // The co-outputs once per vector of the output (Lower.h): the vector
  // loop keeps the innermost Var's name when it is split.
  for (Func c : co_outputs)
    c.compute_at(out, out.args()[0]).vectorize(c.args()[0], vw, TailStrategy::GuardWithIf);
}

} // namespace netc::hl
