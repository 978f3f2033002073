//===- netc.cpp - The netc driver ------------------------------------------===//
//
// Thin: parses flags with CLI11 and runs the pipeline.
//
//   netc check model.net                 report errors only
//   netc ir model.net [--after=PASS] [--print-after-all] [--emit=ast|ir|dot]
//   netc build model.net -o trainer      compile a native trainer
//   netc bench model.net [--schedule=S]  time each kernel on the model's shapes
//   netc train model.net [--epochs N]    train with the reference interpreter
//
// Exit status: 0 success, 1 errors in the input, 2 bad command line.
//
//===----------------------------------------------------------------------===//
#include "codegen/Build.h"
#include "codegen/Plan.h"
#include "frontend/Frontend.h"
#include "ir/Printer.h"
#include "passes/Pipeline.h"
#include "runtime/CliChecks.h"
#include "tools/Driver.h"

#include <CLI/CLI.hpp>
#include <iostream>

using namespace netc;

namespace {

/// Flags shared by the subcommands that compile.
struct CommonFlags {
  std::string input;
  FrontOptions front;
};

void add_common(CLI::App *cmd, CommonFlags &c) {
  cmd->add_option("input", c.input, "a .net model, or .nir IR text")->required();
  cmd->add_option("--model", c.front.model, "which model of the file (default: the trained one)");
  cmd->add_option("--input-format", c.front.input_format, "net or nir (default: by extension)")
      ->check(CLI::IsMember({"net", "nir"}));
}

std::set<std::string> as_set(const std::vector<std::string> &v) { return {v.begin(), v.end()}; }

/// Checks pass names given on the command line, so a typo is not silently ignored.
bool check_pass_names(const std::vector<std::string> &names, const char *flag) {
  for (const std::string &n : names) {
    bool known = n == "all" || n == "parse" || n == "lower";
    for (const std::string &p : pipeline_pass_names())
      known = known || n == p;
    if (!known) {
      std::string list = "parse, lower";
      for (const std::string &p : pipeline_pass_names())
        list += ", " + p;
      std::cerr << "netc: error: unknown pass `" << n << "` in " << flag << "; passes are: " << list
                << "\n";
      return false;
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"netc: a compiler for neural networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netc 0.1");

  // netc check
  CommonFlags check_flags;
  CLI::App *check = app.add_subcommand("check", "report errors in a model, print nothing else");
  add_common(check, check_flags);

  // netc ir
  CommonFlags ir_flags;
  std::string emit = "ir", after, function = "train_step";
  std::vector<std::string> print_after, print_before, disable;
  std::string stop_after;
  bool print_after_all = false, time_passes = false, locations = false, no_verify = false;
  CLI::App *ir = app.add_subcommand("ir", "print the IR (or AST, or Graphviz) of a model");
  add_common(ir, ir_flags);
  ir->add_option("--emit", emit, "ast, ir, dot, halide (each kernel's lowered Halide statement) "
                                 "or llvm (the step driver's LLVM IR)")
      ->check(CLI::IsMember({"ast", "ir", "dot", "halide", "llvm"}));
  std::string ir_target = "host";
  ir->add_option("--target", ir_target, "Halide target for --emit=halide|llvm");
  ir->add_option("--after", after, "print the module after this pass and stop");
  ir->add_option("--print-after", print_after, "print the module after these passes")->delimiter(',');
  ir->add_option("--print-before", print_before, "print the module before these passes")
      ->delimiter(',');
  ir->add_flag("--print-after-all", print_after_all, "print the module after every pass");
  ir->add_option("--disable-pass", disable, "skip these passes")->delimiter(',');
  ir->add_option("--stop-after", stop_after, "stop the pipeline after this pass");
  ir->add_flag("--time-passes", time_passes, "report the time each pass took");
  ir->add_flag("--locations", locations, "print source locations of IR nodes");
  ir->add_flag("--no-verify", no_verify, "do not run the verifier between passes");
  ir->add_option("--function", function, "function to draw with --emit=dot");

  // netc build
  CommonFlags build_flags;
  codegen::BuildOptions bopts;
  CLI::App *build = app.add_subcommand("build", "compile the model to a native trainer executable");
  add_common(build, build_flags);
  build->add_option("-o,--output", bopts.output, "the trainer to write (default: trainer)");
  build->add_option("--target", bopts.target,
                    "host (default), baseline (x86-64 AVX2+FMA, reproducible), or a Halide target");
  build->add_option("--emit", bopts.emit, "obj: write the model's object file instead of linking")
      ->check(CLI::IsMember({"obj"}));
  build->add_flag("-v,--verbose", bopts.verbose, "print the commands netc runs");
  build->add_option("--schedule", bopts.schedule,
                    "manual (default), or a Halide autoscheduler: adams2019, li2018, mullapudi2016")
      ->check(CLI::IsMember(codegen::schedule_names()));

  // netc bench
  CommonFlags bench_flags;
  BenchOptions bench_opts;
  CLI::App *bench = app.add_subcommand("bench", "time each kernel of a model on its real shapes");
  add_common(bench, bench_flags);
  bench->add_option("--schedule", bench_opts.schedule,
                    "manual (default), adams2019, li2018, mullapudi2016, or all (side by side)")
      ->check(CLI::IsMember({"manual", "adams2019", "li2018", "mullapudi2016", "all"}));
  bench->add_option("--function", bench_opts.function, "function to time (default: train_step)");
  bench->add_option("--batch", bench_opts.batch, "batch size (default: the train block's)")
      ->check(netc::cli::kPositive);
  bench->add_option("--reps", bench_opts.reps, "timed samples per kernel (default 15)")
      ->check(netc::cli::kPositive);
  bench->add_option("--threads", bench_opts.threads, "Halide threads (default: all cores)")
      ->check(netc::cli::kPositive);
  bench->add_option("--target", bench_opts.target, "Halide target (default host)");

  // netc train
  CommonFlags train_flags;
  InterpTrainOptions topts;
  CLI::App *train = app.add_subcommand("train", "train the model with the reference interpreter");
  add_common(train, train_flags);
  train->add_option("--epochs", topts.epochs, "epochs (default: the train block's)")
      ->check(netc::cli::kNonNegative);
  train->add_option("--batch", topts.batch, "batch size")->check(netc::cli::kPositive);
  train->add_option("--lr", topts.lr, "learning rate")->check(netc::cli::kFinite);
  train->add_option("--seed", topts.seed, "random seed");
  train->add_option("--limit", topts.limit, "use only the first N training examples")
      ->check(netc::cli::kPositive);
  train->add_option("--validate-limit", topts.validate_limit,
                    "use only the first N held-out examples")
      ->check(netc::cli::kPositive);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  SourceManager sm;
  Diagnostics diag(sm);
  PipelineOptions opts;
  int rc = 0;

  if (*check) {
    opts.verify_each = true;
    std::optional<Module> m = compile_input(check_flags.input, check_flags.front, opts, diag, std::cout);
    diag.flush(std::cerr);
    return m ? 0 : 1;
  }

  if (*ir) {
    if (!check_pass_names(print_after, "--print-after") ||
        !check_pass_names(print_before, "--print-before") ||
        !check_pass_names(disable, "--disable-pass") ||
        !check_pass_names(after.empty() ? std::vector<std::string>{} : std::vector<std::string>{after},
                          "--after") ||
        !check_pass_names(stop_after.empty() ? std::vector<std::string>{}
                                             : std::vector<std::string>{stop_after},
                          "--stop-after"))
      return 2;
    opts.print_after = as_set(print_after);
    opts.print_before = as_set(print_before);
    if (print_after_all)
      opts.print_after.insert("all");
    opts.disabled = as_set(disable);
    opts.stop_after = !after.empty() ? after : stop_after;
    opts.time_passes = time_passes;
    opts.verify_each = !no_verify;
    opts.print_locations = locations;
    if (emit == "ast")
      opts.stop_after = "ast";
    bool ast_printed = false;
    std::optional<Module> m =
        compile_input(ir_flags.input, ir_flags.front, opts, diag, std::cout, &ast_printed);
    diag.flush(std::cerr);
    if (!m)
      return 1;
    if (ast_printed)
      return 0;
    // Dumps asked for with --print-after/--print-before replace the final print.
    bool dumped = !opts.print_after.empty() || !opts.print_before.empty();
    if (emit == "halide" || emit == "llvm") {
      codegen::BuildOptions o;
      o.emit = emit;
      o.target = ir_target;
      bool ok = codegen::build_trainer(*m, o, diag, std::cout);
      diag.flush(std::cerr);
      return ok ? 0 : 1;
    }
    if (emit == "dot") {
      const Function *f = m->find_function(function);
      if (!f) {
        std::cerr << "netc: error: no function @" << function << " in the module\n";
        return 1;
      }
      std::cout << print_dot(*f);
    } else if (!dumped || !after.empty()) {
      PrintOptions po;
      po.locations = locations;
      std::cout << print_module(*m, po);
    }
    return rc;
  }

  if (*build) {
    std::optional<Module> m = compile_input(build_flags.input, build_flags.front, opts, diag, std::cout);
    bool ok = m && codegen::build_trainer(*m, bopts, diag, std::cout);
    diag.flush(std::cerr);
    return ok ? 0 : 1;
  }

  if (*bench) {
    std::optional<Module> m = compile_input(bench_flags.input, bench_flags.front, opts, diag, std::cout);
    diag.flush(std::cerr);
    return m ? run_bench(*m, sm, bench_opts, std::cout) : 1;
  }

  if (*train) {
    std::optional<Module> m = compile_input(train_flags.input, train_flags.front, opts, diag, std::cout);
    if (!m) {
      diag.flush(std::cerr);
      return 1;
    }
    diag.flush(std::cerr);
    rc = train_interpreted(*m, topts, diag);
    diag.flush(std::cerr);
    return rc;
  }
  return 2;
}
