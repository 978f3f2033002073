//===- Progress.h - A one-line progress display for terminals --*- C++ -*-===//
//
// While an epoch runs, a terminal shows one line, rewritten in place with
// '\r' at most ten times a second:
//
//   epoch 2/5  batch 412/938  61234 samples/s  ETA 0:04
//
// Nothing is printed when disabled (stdout is not a terminal, or --quiet),
// so logs and pipes get only the per-epoch lines.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace netc::rt {

/// True when stdout is a terminal.
bool stdout_is_terminal();

/// "1:05", "1:02:03": a duration in seconds, for ETAs.
std::string format_duration(double seconds);

class Progress {
public:
  using Clock = std::chrono::steady_clock;

  /// `label` prefixes the line ("epoch 2/5"); `total` is the batch count.
  Progress(std::ostream &out, bool enabled, std::string label, int64_t total);
  ~Progress() { clear(); }

  /// Batch `done` of `total` finished, `samples` examples since start();
  /// redraws when 0.1 s have passed since the last redraw.
  void update(int64_t done, int64_t samples);
  /// Erases the line, so the next output starts on a clean line.
  void clear();

private:
  std::ostream &out_;
  bool enabled_;
  std::string label_;
  int64_t total_;
  Clock::time_point start_, last_draw_;
  size_t drawn_width_ = 0;
};

} // namespace netc::rt
