// cardsim: one executable, one subcommand per task. Exit codes: 0 success, 1 a check found
// a mismatch, 2 an error (bad input, unsupported model, fault), with a message on stderr.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/cli/cli.h"

namespace cardsim::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"compile", "compile an ONNX network to a .cbin loadable for a card", cmd_compile},
      {"run", "run a network (.onnx, compiled on the fly) or a .cbin on the card model", cmd_run},
      {"check", "run and compare outputs with expected tensors or onnxruntime (for CI)", cmd_check},
      {"asm", "assemble a text program into a .cbin", cmd_asm},
      {"disasm", "print a .cbin as assembly text", cmd_disasm},
      {"config", "show or validate a card configuration", cmd_config},
      {"sweep", "run a design-space sweep", cmd_sweep},
      {"pareto", "print and write the Pareto front of sweep results", cmd_pareto},
      {"plot", "draw plots of a report or of sweep results (PNG/SVG)", cmd_plot},
      {"dram-replay", "replay a DRAMSim3/Ramulator trace on the DRAM model", cmd_dram_replay},
      {"scalesim", "SCALE-Sim config + topology in, COMPUTE_REPORT.csv out (SCALE-Sim's cycles or cardsim's)", cmd_scalesim},
  };
  return kCommands;
}

bool parse(const Args& args, const po::options_description& opts,
           const po::positional_options_description& positional, po::variables_map& vm,
           const std::string& usage, const std::string& examples) {
  po::options_description all = opts;
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << all << "\nexamples:\n" << examples;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    fail(ErrorKind::Usage, "{} (usage: {}; see --help)", e.what(), usage);
  }
  return true;
}

static void print_overview() {
  std::cout << "cardsim " CARDSIM_VERSION " — cycle-approximate simulator of an AI inference card\n\n"
               "usage: cardsim <command> [options]   (cardsim <command> --help for details)\n\n"
               "commands:\n";
  for (const auto& c : commands()) std::cout << fmt::format("  {:<12} {}\n", c.name, c.summary);
  std::cout << "\nexamples:\n"
               "  cardsim run resnet18.onnx -c default --precision int8\n"
               "  cardsim compile resnet18.onnx -c edge -o resnet18.cbin --explain\n"
               "  cardsim check model.onnx -c default --inputs test_data_set_0 --reference onnxruntime\n";
}

}  // namespace cardsim::cli

int main(int argc, char** argv) {
  using namespace cardsim;
  using namespace cardsim::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "cardsim " CARDSIM_VERSION " (ISA v1)\n";
    return 0;
  }
  for (const auto& c : commands()) {
    if (args[0] != c.name) continue;
    try {
      return c.run(Args(args.begin() + 1, args.end()));
    } catch (const Error& e) {
      std::fflush(stdout);
      std::cerr << "cardsim " << c.name << ": error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::fflush(stdout);
      std::cerr << "cardsim " << c.name << ": internal error: " << e.what() << "\n";
      return 2;
    }
  }
  std::cerr << "cardsim: unknown command '" << args[0] << "'; commands are:";
  for (const auto& c : commands()) std::cerr << " " << c.name;
  std::cerr << " (see cardsim --help)\n";
  return 2;
}
