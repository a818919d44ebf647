#include <iostream>

#include "core/error.h"
#include "models/dram/replay.h"
#include "sim/cli/cli.h"
#include "sim/config/config.h"

namespace cardsim::cli {

int cmd_dram_replay(const Args& args) {
  po::options_description opts("dram-replay options");
  std::string trace, config, format = "auto";
  std::vector<std::string> sets;
  uint32_t bytes = 64;
  opts.add_options()
      ("trace", po::value(&trace)->required(), "DRAMSim3 (`0x1aa9e6600 READ 400`) or Ramulator 2 (`LD 0x...`) trace")
      ("config,c", po::value(&config)->default_value("default"), "card configuration whose dram section is used")
      ("set", po::value(&sets)->composing(), "override a config field: --set dram.channels=1")
      ("format", po::value(&format)->default_value("auto"), "auto | dramsim3 | ramulator")
      ("bytes", po::value(&bytes)->default_value(64), "bytes per request");
  po::positional_options_description pos;
  pos.add("trace", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim dram-replay TRACE -c CONFIG [--format auto|dramsim3|ramulator]",
             "  cardsim run resnet18.onnx --dram-trace r18.trace && cardsim dram-replay r18.trace -c default\n"
             "  cardsim dram-replay stream.trace -c default --set dram.standard=DDR4 --set dram.speed_grade=DDR4_3200\n"))
    return 0;
  CardConfig cfg = load_config(resolve_config_path(config), sets);
  auto r = dram::replay_trace(trace, cfg.dram, dram::parse_trace_format(format), bytes);
  std::cout << dram::format_replay_result(r);
  return 0;
}

}  // namespace cardsim::cli
