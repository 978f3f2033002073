//===- plot_test.cpp - Training curves as a PNG ---------------------------===//
//
// Unit tests for runtime/trainer/Plot.h: a metrics file with known values
// is drawn; the PNG has the documented size, each epoch's marker has its
// series' colour at the pixel its value maps to, and bad files are errors
// naming the line.
//
//===----------------------------------------------------------------------===//
#include "runtime/Image.h"
#include "runtime/trainer/Plot.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

using namespace netc::rt;

namespace {

std::string temp_path(const std::string &name) {
  return (std::filesystem::temp_directory_path() / fmt::format("netc-plot-{}-{}", ::getpid(), name)).string();
}

void write_text(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

Rgb pixel_at(const Image &img, std::pair<int64_t, int64_t> p) {
  const uint8_t *q = img.at(p.first, p.second);
  return {q[0], q[1], q[2]};
}

} // namespace

TEST_CASE("plot: curves land where the values say", "[plot]") {
  std::string metrics = temp_path("m.jsonl"), png = temp_path("c.png");
  write_text(metrics, R"({"step": 5, "loss": 1.9}
{"epoch": 1, "step": 10, "train_loss": 1.2, "held_out_loss": 0.9, "accuracy": 0.7, "samples_per_s": 1, "seconds": 1}
{"epoch": 2, "step": 20, "train_loss": 0.6, "held_out_loss": 0.7, "accuracy": 0.8, "samples_per_s": 1, "seconds": 1}
{"epoch": 3, "step": 30, "train_loss": 0.4, "held_out_loss": 0.8, "accuracy": 0.85, "samples_per_s": 1, "seconds": 1}
)");
  Expected<std::vector<Panel>> panels = read_metrics_panels(metrics);
  REQUIRE(panels);
  REQUIRE(panels->size() == 2);
  std::vector<PlotFrame> frames;
  Image img = plot_panels(*panels, 520, 400, &frames);
  CHECK((img.width == 1040 && img.height == 400 && img.channels == 3));
  REQUIRE(frames.size() == 2);
  // The step at 5 of 10 per epoch sits at epoch 0.5.
  CHECK(frames[0].xmin == 0.5);
  CHECK(frames[0].xmax == 3);
  Rgb blue{31, 119, 180}, orange{255, 127, 14}, green{44, 160, 44};
  CHECK(pixel_at(img, frames[0].pixel(2, 0.6)) == blue);
  CHECK(pixel_at(img, frames[0].pixel(3, 0.4)) == blue);
  CHECK(pixel_at(img, frames[0].pixel(2, 0.7)) == orange);
  CHECK(pixel_at(img, frames[0].pixel(1, 0.9)) == orange);
  CHECK(pixel_at(img, frames[1].pixel(1, 70)) == green);
  CHECK(pixel_at(img, frames[1].pixel(3, 85)) == green);
  // Accuracy is a percentage: 70..85 widened to whole ticks.
  CHECK((frames[1].ymin <= 70 && frames[1].ymax >= 85 && frames[1].ymax <= 100));
  // Pixels away from every curve are background.
  CHECK(pixel_at(img, {frames[0].x0 + frames[0].width / 2, frames[0].y0 + frames[0].height - 3}) == Rgb{255, 255, 255});

  REQUIRE(write_png(png, img));
  Expected<Image> back = read_image(png, 3);
  REQUIRE(back);
  CHECK((back->width == 1040 && back->height == 400));
  CHECK(back->pixels == img.pixels);
  std::filesystem::remove(metrics);
  std::filesystem::remove(png);
}

TEST_CASE("plot: a resumed run's repeated epochs keep the last values", "[plot]") {
  std::string metrics = temp_path("r.jsonl");
  write_text(metrics, R"({"epoch": 1, "step": 4, "train_loss": 1.0, "held_out_loss": null, "accuracy": null}
{"epoch": 1, "step": 4, "train_loss": 0.5, "held_out_loss": null, "accuracy": null}
)");
  Expected<std::vector<Panel>> panels = read_metrics_panels(metrics);
  REQUIRE(panels);
  const Series &train = (*panels)[0].series[1];
  REQUIRE(train.points.size() == 1);
  CHECK(train.points[0] == std::pair<double, double>{1, 0.5});
  CHECK((*panels)[1].series[0].points.empty());
  std::filesystem::remove(metrics);
}

TEST_CASE("plot: bad metrics files name the line", "[plot]") {
  std::string metrics = temp_path("bad.jsonl");
  write_text(metrics, "{\"epoch\": 1, \"train_loss\": 1}\nnot json\n");
  CHECK(read_metrics_panels(metrics).error() == metrics + ":2: not a JSON object");
  write_text(metrics, "{\"loss\": 1}\n");
  CHECK(read_metrics_panels(metrics).error() ==
        metrics + ":1: expected an epoch line {\"epoch\": ...} or a step line {\"step\": ..., \"loss\": ...}");
  write_text(metrics, "\n");
  CHECK(read_metrics_panels(metrics).error() ==
        metrics + ": no metrics; write them with `train --metrics " + metrics + "`");
  CHECK(read_metrics_panels("/nonexistent/m.jsonl").error() == "/nonexistent/m.jsonl: cannot open metrics file");
  std::filesystem::remove(metrics);
}

TEST_CASE("plot: lines, rectangles and text draw where asked", "[plot]") {
  Image img(20, 10, 3, 255);
  draw_line(img, 0, 0, 19, 9, {255, 0, 0});
  CHECK(pixel_at(img, {0, 0}) == Rgb{255, 0, 0});
  CHECK(pixel_at(img, {19, 9}) == Rgb{255, 0, 0});
  CHECK(pixel_at(img, {19, 0}) == Rgb{255, 255, 255});
  fill_rect(img, 18, -5, 10, 7, {0, 0, 255}); // clipped
  CHECK(pixel_at(img, {19, 1}) == Rgb{0, 0, 255});
  Image t(40, 20, 3, 255);
  draw_text(t, 0, 0, "1", {0, 0, 0}, 2);
  int64_t dark = 0;
  for (int64_t y = 0; y < 20; ++y)
    for (int64_t x = 0; x < 40; ++x)
      dark += t.at(x, y)[0] == 0;
  CHECK(dark > 0);
  CHECK(text_width("10", 2) == 2 * text_width("10"));
}
