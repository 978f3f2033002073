//===- Progress.cpp - A one-line progress display for terminals -----------===//
//
// This file implements the '\r'-refreshed progress line.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Progress.h"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace netc::rt {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::string format_duration(double seconds) {
  int64_t s = seconds < 0 ? 0 : int64_t(seconds + 0.5);
  if (s >= 3600)
    return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(std::ostream &out, bool enabled, std::string label, int64_t total)
    : out_(out), enabled_(enabled), label_(std::move(label)), total_(total), start_(Clock::now()), last_draw_(start_) {}

void Progress::update(int64_t done, int64_t samples) {
  if (!enabled_)
    return;
  Clock::time_point now = Clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total_)
    return;
  last_draw_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? double(samples) / secs : 0;
  double eta = done > 0 ? secs * double(total_ - done) / double(done) : 0;
  std::string line =
      fmt::format("{}  batch {}/{}  {:.0f} samples/s  ETA {}", label_, done, total_, rate, format_duration(eta));
  size_t width = line.size();
  if (width < drawn_width_)
    line.append(drawn_width_ - width, ' ');
  drawn_width_ = width;
  out_ << '\r' << line << std::flush;
}

void Progress::clear() {
  if (!enabled_ || drawn_width_ == 0)
    return;
  out_ << '\r' << std::string(drawn_width_, ' ') << '\r' << std::flush;
  drawn_width_ = 0;
}

} // namespace netc::rt
