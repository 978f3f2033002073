//===- SerialParFor.h - A Halide parallel loop on the calling thread -*- C++ -*-===//
//
// At one thread Halide's own halide_do_par_for still queues the job and
// takes the pool's mutex around every task: 3.4 % of a one-thread profile
// of examples/lstm.net at batch 256 (halide_mutex_lock), none with this.
// The trainers install it at --threads 1 (halide_set_custom_do_par_for,
// runtime/trainer/Cli.cpp) and `netc bench --threads 1` through its JIT
// handlers (tools/Bench.cpp), whose context type is Halide::JITUserContext
// instead of void: hence the template.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace netc::rt {

/// Tasks min .. min + size - 1 of `task`, in order, on the calling thread;
/// the first failing task's code, or 0.
template <typename Context>
int serial_do_par_for(Context *user_context, int (*task)(Context *, int, uint8_t *), int min,
                      int size, uint8_t *closure) {
  for (int i = min; i < min + size; ++i)
    if (int r = task(user_context, i, closure))
      return r;
  return 0;
}

} // namespace netc::rt
