// Shared pieces of the cardsim command-line subcommands.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace cardsim::cli {

namespace po = boost::program_options;

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);  // args exclude the program and subcommand names
};
const std::vector<Command>& commands();

// Parses `args` against `opts` (+ positional names). Prints help with `usage` and
// `examples` and returns false when --help was given. Throws Error(Usage) on bad options.
bool parse(const Args& args, const po::options_description& opts,
           const po::positional_options_description& positional, po::variables_map& vm,
           const std::string& usage, const std::string& examples);

int cmd_compile(const Args&);
int cmd_run(const Args&);
int cmd_check(const Args&);
int cmd_asm(const Args&);
int cmd_disasm(const Args&);
int cmd_config(const Args&);
int cmd_sweep(const Args&);
int cmd_dram_replay(const Args&);
int cmd_scalesim(const Args&);
int cmd_pareto(const Args&);
int cmd_plot(const Args&);

}  // namespace cardsim::cli
