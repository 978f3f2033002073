//===- Expected.h - A value or an error message ----------------*- C++ -*-===//
//
// The runtime reports user-facing failures (a missing data file, a corrupt
// checkpoint) as values, never as exceptions: trainers link LLVM-free code,
// but the style is the compiler's (STYLE.md 10), and a value forces the
// caller to decide what to print. `Expected<T>` holds either a T or an
// `Error` whose message is complete and ready to show the user ("file: what
// is wrong, where, what was expected").
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace netc::rt {

/// A user-facing error: one complete message, ready to print.
struct Error {
  std::string message;
};

/// Builds an Error; reads well at return sites: `return fail("...");`.
inline Error fail(std::string message) { return Error{std::move(message)}; }

/// Either a T or an Error. Test it with `if (!r)`, then use `*r` or `r->`.
template <class T> class [[nodiscard]] Expected {
public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  /// True when a value is held.
  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }

  T &operator*() { return value(); }
  const T &operator*() const { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &value() {
    assert(ok() && "Expected: value() on an error");
    return std::get<0>(v_);
  }
  const T &value() const {
    assert(ok() && "Expected: value() on an error");
    return std::get<0>(v_);
  }

  /// The error message; only valid when !ok().
  const std::string &error() const {
    assert(!ok() && "Expected: error() on a value");
    return std::get<1>(v_).message;
  }

private:
  std::variant<T, Error> v_;
};

/// Success or an Error, for operations with no result.
template <> class [[nodiscard]] Expected<void> {
public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error.message)), failed_(true) {}

  explicit operator bool() const { return !failed_; }
  bool ok() const { return !failed_; }
  const std::string &error() const {
    assert(failed_ && "Expected<void>: error() on success");
    return error_;
  }

private:
  std::string error_;
  bool failed_ = false;
};

} // namespace netc::rt
