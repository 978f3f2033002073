//===- Plot.cpp - Training curves from metrics JSON lines as a PNG --------===//
//
// This file implements reading the metrics file into panels, nice tick
// steps, and drawing: frame, ticks and labels, series, legend.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Plot.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace netc::rt {

namespace {

constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{225, 225, 225}, kDots{150, 150, 150};
constexpr Rgb kBlue{31, 119, 180}, kOrange{255, 127, 14}, kGreen{44, 160, 44};
/// Margins around a panel's plot area: left (tick labels), top (title),
/// right, bottom (tick labels and the x label).
constexpr int64_t kLeft = 64, kTop = 34, kRight = 16, kBottom = 46;

/// A tick step of 1, 2 or 5 times a power of ten giving at most 10 ticks.
double tick_step(double span) {
  double raw = span / 8, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw)
      return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  int digits = step >= 1 ? 0 : int(std::ceil(-std::log10(step) - 1e-9));
  return fmt::format("{:.{}f}", v, digits);
}

/// The data range of a panel, widened to whole tick steps; a flat series
/// gets a unit range.
PlotFrame frame_for(const Panel &p, int64_t x0, int64_t y0, int64_t w, int64_t h) {
  PlotFrame f{x0, y0, w, h, 1e300, -1e300, 1e300, -1e300};
  for (const Series &s : p.series)
    for (auto [x, y] : s.points) {
      f.xmin = std::min(f.xmin, x), f.xmax = std::max(f.xmax, x);
      f.ymin = std::min(f.ymin, y), f.ymax = std::max(f.ymax, y);
    }
  if (f.xmin > f.xmax)
    f.xmin = 0, f.xmax = 1, f.ymin = 0, f.ymax = 1;
  if (f.xmax - f.xmin < 1e-12)
    f.xmin -= 0.5, f.xmax += 0.5;
  if (f.ymax - f.ymin < 1e-12)
    f.ymin -= 0.5, f.ymax += 0.5;
  double sy = tick_step(f.ymax - f.ymin);
  // One more step on top keeps the legend clear of the highest points.
  f.ymin = std::floor(f.ymin / sy) * sy, f.ymax = std::ceil(f.ymax / sy) * sy + sy;
  return f;
}

void draw_panel(Image &img, const Panel &p, const PlotFrame &f) {
  int64_t right = f.x0 + f.width, bottom = f.y0 + f.height;
  // Grid and ticks.
  double sy = tick_step(f.ymax - f.ymin), sx = std::max(1.0, tick_step(f.xmax - f.xmin));
  for (double y = f.ymin; y <= f.ymax + sy / 2; y += sy) {
    int64_t py = f.pixel(f.xmin, y).second;
    draw_line(img, f.x0, py, right, py, kGrid);
    draw_line(img, f.x0 - 5, py, f.x0, py, kBlack);
    std::string label = tick_label(y, sy);
    draw_text(img, f.x0 - 8 - text_width(label, 2), py - 6, label, kBlack, 2);
  }
  for (double x = std::ceil(f.xmin / sx) * sx; x <= f.xmax + 1e-9; x += sx) {
    int64_t px = f.pixel(x, f.ymin).first;
    draw_line(img, px, f.y0, px, bottom, kGrid);
    draw_line(img, px, bottom, px, bottom + 5, kBlack);
    std::string label = tick_label(x, sx);
    draw_text(img, px - text_width(label, 2) / 2, bottom + 9, label, kBlack, 2);
  }
  draw_line(img, f.x0, f.y0, f.x0, bottom, kBlack);
  draw_line(img, f.x0, bottom, right, bottom, kBlack);
  draw_text(img, f.x0 + (f.width - text_width(p.title, 2)) / 2, f.y0 - 26, p.title, kBlack, 2);
  draw_text(img, f.x0 + (f.width - text_width(p.x_label, 2)) / 2, bottom + 28, p.x_label, kBlack, 2);
  // Series: dots first, then lines, then markers on top.
  for (const Series &s : p.series)
    if (s.dots)
      for (auto [x, y] : s.points) {
        auto [px, py] = f.pixel(x, y);
        fill_rect(img, px - 1, py - 1, 2, 2, s.color);
      }
  for (const Series &s : p.series)
    if (!s.dots)
      for (size_t i = 1; i < s.points.size(); ++i) {
        auto [ax, ay] = f.pixel(s.points[i - 1].first, s.points[i - 1].second);
        auto [bx, by] = f.pixel(s.points[i].first, s.points[i].second);
        draw_line(img, ax, ay, bx, by, s.color, 2);
      }
  for (const Series &s : p.series)
    if (!s.dots)
      for (auto [x, y] : s.points) {
        auto [px, py] = f.pixel(x, y);
        fill_rect(img, px - 2, py - 2, 5, 5, s.color);
      }
  // Legend: a colour swatch and the name per series, top right.
  int64_t ly = f.y0 + 8;
  for (const Series &s : p.series) {
    if (s.points.empty())
      continue;
    int64_t lx = right - 12 - text_width(s.name, 2) - 24;
    fill_rect(img, lx - 4, ly - 3, text_width(s.name, 2) + 32, 20, kWhite);
    fill_rect(img, lx, ly + 2, 16, 8, s.color);
    draw_text(img, lx + 22, ly, s.name, kBlack, 2);
    ly += 22;
  }
}

} // namespace

std::pair<int64_t, int64_t> PlotFrame::pixel(double x, double y) const {
  double u = (x - xmin) / (xmax - xmin), v = (y - ymin) / (ymax - ymin);
  return {x0 + int64_t(std::lround(u * double(width - 1))), y0 + int64_t(std::lround((1 - v) * double(height - 1)))};
}

Expected<std::vector<Panel>> read_metrics_panels(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    return fail(fmt::format("{}: cannot open metrics file", path));
  std::map<int64_t, nlohmann::json> epochs; // the last line per epoch
  std::map<int64_t, double> steps;          // global step -> loss
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(fmt::format("{}:{}: not a JSON object", path, n));
    if (j.contains("epoch") && j["epoch"].is_number_integer())
      epochs[j["epoch"].get<int64_t>()] = j;
    else if (j.contains("step") && j["step"].is_number_integer() && j.contains("loss") && j["loss"].is_number())
      steps[j["step"].get<int64_t>()] = j["loss"].get<double>();
    else
      return fail(fmt::format("{}:{}: expected an epoch line {{\"epoch\": ...}} or a step line {{\"step\": ..., "
                              "\"loss\": ...}}",
                              path, n));
  }
  if (epochs.empty() && steps.empty())
    return fail(fmt::format("{}: no metrics; write them with `train --metrics {}`", path, path));
  // Steps per epoch, from the last epoch line with a step count.
  double per_epoch = 0;
  for (auto &[e, j] : epochs)
    if (j.contains("step") && j["step"].is_number() && e > 0)
      per_epoch = j["step"].get<double>() / double(e);
  Series train{"train loss", kBlue, {}}, held{"held-out loss", kOrange, {}}, acc{"held-out accuracy", kGreen, {}};
  Series step_loss{"step loss", kDots, {}, true};
  auto number = [](const nlohmann::json &j, const char *k) { return j.contains(k) && j[k].is_number(); };
  for (auto &[e, j] : epochs) {
    if (number(j, "train_loss"))
      train.points.push_back({double(e), j["train_loss"].get<double>()});
    if (number(j, "held_out_loss"))
      held.points.push_back({double(e), j["held_out_loss"].get<double>()});
    if (number(j, "accuracy"))
      acc.points.push_back({double(e), 100 * j["accuracy"].get<double>()});
  }
  for (auto [s, l] : steps)
    step_loss.points.push_back({per_epoch > 0 ? double(s) / per_epoch : double(s), l});
  std::string x = per_epoch > 0 || steps.empty() ? "epoch" : "step";
  Panel loss{"loss", x, {step_loss, train, held}}, accuracy{"accuracy (%)", x, {acc}};
  return std::vector<Panel>{loss, accuracy};
}

Image plot_panels(const std::vector<Panel> &panels, int64_t panel_w, int64_t panel_h, std::vector<PlotFrame> *frames) {
  Image img(panel_w * int64_t(panels.size()), panel_h, 3, 255);
  for (size_t i = 0; i < panels.size(); ++i) {
    PlotFrame f = frame_for(panels[i], int64_t(i) * panel_w + kLeft, kTop, panel_w - kLeft - kRight,
                            panel_h - kTop - kBottom);
    draw_panel(img, panels[i], f);
    if (frames)
      frames->push_back(f);
  }
  return img;
}

} // namespace netc::rt
