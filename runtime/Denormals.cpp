//===- Denormals.cpp - Flush denormal floats to zero ----------------------===//
#include "runtime/Denormals.h"

#if defined(__SSE2__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

namespace netc::rt {

bool flush_denormals() {
#if defined(__SSE2__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  return true;
#else
  return false;
#endif
}

} // namespace netc::rt
