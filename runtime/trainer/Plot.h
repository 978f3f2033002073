//===- Plot.h - Training curves from metrics JSON lines as a PNG -*- C++ -*-===//
//
// `./trainer plot --metrics run.jsonl -o curves.png`: the JSON lines that
// `train --metrics` writes, drawn as two panels side by side, each 520 x 400
// pixels on white:
//
//   loss       train loss per epoch (blue), held-out loss per epoch (orange),
//              and the per-step losses of --log-every as small grey dots
//   accuracy   held-out accuracy per epoch in percent (green)
//
// The x axis is the epoch (1, 2, ...); a step s sits at s / steps_per_epoch,
// where steps_per_epoch comes from the epoch lines' global step. Each epoch
// value is a 5 x 5 marker joined by 2-pixel lines. Axes have 5 to 10 ticks at
// 1, 2 or 5 times a power of ten, labelled in stb_easy_font's bitmap font
// (Image.h draw_text), with a legend at the top right of each panel. A file
// holding several runs (--metrics appends) is drawn as its last value for
// each epoch, which is what a resumed run continues.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"
#include "runtime/Image.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace netc::rt {

/// One line of a plot: (x, y) points, a colour, and whether it is drawn as
/// markers joined by lines or as small dots.
struct Series {
  std::string name;
  Rgb color;
  std::vector<std::pair<double, double>> points;
  bool dots = false;
};

/// A panel: a title, an x-axis label and its series.
struct Panel {
  std::string title, x_label;
  std::vector<Series> series;
};

/// Where a panel's data lies in the picture: the plot area's top-left
/// pixel and size, and the data ranges it spans.
struct PlotFrame {
  int64_t x0 = 0, y0 = 0, width = 0, height = 0;
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  /// The pixel of data point (x, y).
  std::pair<int64_t, int64_t> pixel(double x, double y) const;
};

/// The panels of a metrics file: loss and accuracy (see above). Errors name
/// the file and the line (a line that is not JSON, an object without
/// "epoch" or "step", no data at all).
Expected<std::vector<Panel>> read_metrics_panels(const std::string &path);

/// Draws the panels side by side, each panel_w x panel_h; `frames` (when
/// given) receives each panel's PlotFrame.
Image plot_panels(const std::vector<Panel> &panels, int64_t panel_w = 520, int64_t panel_h = 400,
                  std::vector<PlotFrame> *frames = nullptr);

} // namespace netc::rt
