//===- CliChecks.h - Command-line value checks with plain messages --*- C++ -*-===//
//
// CLI11's PositiveNumber and NonNegativeNumber report a bad count as
// "Value 0 not in range 0.000000 to 1797693134862315708...": these say
// what a count must be, for netc's and the trainers' flags alike.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace netc::cli {

/// A whole number of at least `least`, else "must be <what>, got <s>".
inline CLI::Validator count_at_least(long long least, const std::string &what) {
  return CLI::Validator(
      [least, what](std::string &s) {
        errno = 0;
        char *end = nullptr;
        long long v = std::strtoll(s.c_str(), &end, 10);
        bool ok = end != s.c_str() && *end == 0 && errno == 0 && v >= least;
        return ok ? std::string() : "must be " + what + ", got " + s;
      },
      "INT");
}

/// A finite number for which `ok` holds, else "must be <what>, got <s>".
inline CLI::Validator real_where(bool (*ok)(double), const std::string &what) {
  return CLI::Validator(
      [ok, what](std::string &s) {
        char *end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        bool good = end != s.c_str() && *end == 0 && std::isfinite(v) && ok(v);
        return good ? std::string() : "must be " + what + ", got " + s;
      },
      "FLOAT");
}

/// Any finite number (a learning rate: not nan, not inf).
inline const CLI::Validator kFinite = real_where([](double) { return true; }, "a finite number");
/// A finite number above 0 (a sampling temperature).
inline const CLI::Validator kPositiveReal =
    real_where([](double v) { return v > 0; }, "a number above 0");

/// 1, 2, 3, ...: a batch size, a thread count, a repetition count.
inline const CLI::Validator kPositive = count_at_least(1, "a positive whole number");
/// 0, 1, 2, ...: an epoch count, an interval that 0 turns off.
inline const CLI::Validator kNonNegative = count_at_least(0, "a whole number, 0 or more");

} // namespace netc::cli
