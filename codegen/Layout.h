//===- Layout.h - Where a plan's values lie in memory ----------*- C++ -*-===//
//
// Helpers of the planner (codegen/Plan.cpp) for the memory side of a
// plan; the public queries (view_step, arena_bytes, ...) are in Plan.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Plan.h"

#include <vector>

namespace netc::codegen {

/// Dense strides of `shape` in elements, IR order (outermost first); the
/// batch may only be the outermost dimension.
std::vector<int64_t> dense_strides(const Shape &shape);

/// Lays out time-major (View::time_major) every slot [N, T, ...] that only
/// step views along axis 1 touch (Layout.cpp says when).
void time_major_slots(ModelPlan &plan);

} // namespace netc::codegen
