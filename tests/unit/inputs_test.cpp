//===- inputs_test.cpp - predict's inputs from IDX, NPY and images --------===//
//
// Unit tests for runtime/Inputs.h, and `predict --input` on the fake model
// (2x3 grey inputs) with an .npy array and a PNG.
//
//===----------------------------------------------------------------------===//
#include "TrainerFake.h"

#include "runtime/Image.h"
#include "runtime/Inputs.h"

using namespace netc::rt;
using namespace netc::rt::testing;

TEST_CASE("inputs: .npy arrays of examples, uint8 scaled like IDX", "[inputs]") {
  Workspace ws;
  std::vector<int64_t> example = {2, 3};
  std::string f = ws.path("x.npy");
  REQUIRE(write_file_bytes(f, encode_npy({{2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}), false));
  Expected<HostArray> a = read_inputs(f, example, 1);
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{1, 2, 3});
  CHECK(a->data == std::vector<float>{1, 2, 3, 4, 5, 6});
  // One example without N; a flat [N, 6] array also fits.
  REQUIRE(write_file_bytes(f, encode_npy({{2, 3}, {1, 2, 3, 4, 5, 6}}), false));
  CHECK(read_inputs(f, example)->shape == std::vector<int64_t>{1, 2, 3});
  REQUIRE(write_file_bytes(f, encode_npy({{1, 6}, {1, 2, 3, 4, 5, 6}}), false));
  CHECK(read_inputs(f, example)->shape == std::vector<int64_t>{1, 6});
  REQUIRE(write_file_bytes(f, encode_npy({{2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}}), false));
  CHECK(read_inputs(f, example).error() ==
        f + ": array of shape [2, 4] does not hold examples of the model's input shape [2, 3]; expected [N, 2, 3] "
            "or [2, 3]");
  // uint8: divided by 255.
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 3), }";
  header.append(117 - header.size(), ' ');
  header += '\n';
  std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 'v', 0};
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), {0, 51, 102, 153, 204, 255});
  REQUIRE(write_file_bytes(f, bytes, false));
  Expected<HostArray> u = read_inputs(f, example);
  REQUIRE(u);
  CHECK(u->data == std::vector<float>{0, 0.2f, 0.4f, 0.6f, 0.8f, 1});
}

TEST_CASE("inputs: one PNG of exactly the input's size", "[inputs]") {
  Workspace ws;
  std::string png = ws.path("x.png");
  Image img(3, 2, 1);
  img.pixels = {0, 51, 102, 153, 204, 255};
  REQUIRE(write_png(png, img));
  Expected<HostArray> a = read_inputs(png, std::vector<int64_t>{2, 3});
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{1, 2, 3});
  CHECK(a->data == std::vector<float>{0, 0.2f, 0.4f, 0.6f, 0.8f, 1});
  CHECK(read_inputs(png, std::vector<int64_t>{28, 28}).error() ==
        png + ": the image is 3x2 (width x height) but the model's input is 28x28; resize it first, e.g. `convert " +
            png + " -resize 28x28! small.png`");
  CHECK(read_inputs(png, std::vector<int64_t>{784}).error() ==
        png + ": an image feeds an input of shape [H, W], [H, W, 1] or [H, W, 3], but the model's input is [784]");
  Expected<HostArray> rgb = read_inputs(png, std::vector<int64_t>{2, 3, 3});
  REQUIRE(rgb);
  CHECK(rgb->data.size() == 18);
  CHECK(rgb->data[3] == 0.2f); // grey replicated into R, G, B
}

TEST_CASE("predict reads .npy and PNG inputs", "[inputs][trainer]") {
  Workspace ws;
  Model m = ws.model();
  std::string ck = ws.path("c.safetensors"), npy = ws.path("x.npy"), png = ws.path("x.png");
  REQUIRE(save_checkpoint(ck, m, {"tiny", {}, 7, 4, {}}).ok());
  std::vector<float> values = {0, 0.2f, 0.4f, 0.6f, 0.8f, 1};
  REQUIRE(write_file_bytes(npy, encode_npy({{1, 2, 3}, values}), false));
  Image img(3, 2, 1);
  img.pixels = {0, 51, 102, 153, 204, 255};
  REQUIRE(write_png(png, img));
  CliResult a = cli(ws, {"predict", "--checkpoint", ck, "--input", npy});
  CliResult b = cli(ws, {"predict", "--checkpoint", ck, "--input", png});
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK_THAT(a.out, Catch::StartsWith("# example argmax prob[0..2]\n0 "));
  CHECK(a.out == b.out); // the same pixels, the same predictions
  Image big(4, 4, 1);
  REQUIRE(write_png(png, big));
  CliResult c = cli(ws, {"predict", "--checkpoint", ck, "--input", png});
  CHECK(c.code == 1);
  CHECK_THAT(c.err, Catch::Contains("the image is 4x4 (width x height) but the model's input is 3x2"));
}
