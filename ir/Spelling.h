//===- Spelling.h - Did-you-mean hints for misspelled names -----*- C++ -*-===//
//
// Header-only, so the trainer runtime (which links no compiler library)
// gives the same hints as the compiler's diagnostics: a misspelled layer,
// value or parameter name is answered with the closest valid one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace netc {

/// Levenshtein distance, for did-you-mean hints.
inline size_t edit_distance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// "did you mean `x`?" for the candidate closest to `name`, or "" when none
/// is close enough to be a likely typo.
inline std::string did_you_mean(const std::string &name, const std::vector<std::string> &candidates) {
  // A likely typo: within max(2, len/3) edits (a swap of two letters is 2),
  // and fewer edits than the name has letters.
  if (name.size() > 64)
    return "";
  size_t best = std::max<size_t>(2, name.size() / 3) + 1;
  std::string pick;
  for (const std::string &c : candidates) {
    size_t d = edit_distance(name, c);
    if (c != name && d < best && d < name.size()) {
      best = d;
      pick = c;
    }
  }
  return pick.empty() ? "" : "did you mean `" + pick + "`?";
}

} // namespace netc
