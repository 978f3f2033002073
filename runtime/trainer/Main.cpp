//===- Main.cpp - The native trainer's entry point ------------------------===//
//
// The only file that names the symbols `netc build` generates
// (runtime/ModelABI.h): it packs them into a ModelABI for trainer_main.
// Unit tests link the rest of the library with a hand-written model.
//
//===----------------------------------------------------------------------===//
#include "runtime/Denormals.h"
#include "runtime/ModelABI.h"
#include "runtime/trainer/Cli.h"

int main(int argc, char **argv) {
  // Before any kernel runs and before Halide starts its workers, which
  // inherit the mode (runtime/Denormals.h).
  netc::rt::flush_denormals();
  netc::rt::ModelABI abi;
  abi.json = netc_model_json;
  abi.train_step = netc_fn_train_step;
  abi.eval = netc_fn_eval;
  abi.predict = netc_fn_predict;
  abi.inspect = netc_fn_inspect;
  abi.saliency = netc_fn_saliency;
  abi.saliency_loss = netc_fn_saliency_loss;
  abi.set_num_threads = halide_set_num_threads;
  abi.set_custom_do_par_for = halide_set_custom_do_par_for;
  return netc::rt::trainer_main(argc, argv, abi);
}
