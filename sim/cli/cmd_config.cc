#include <iostream>

#include "core/error.h"
#include "sim/card_config.h"
#include "sim/cli/cli.h"
#include "sim/config/config.h"

namespace cardsim::cli {

int cmd_config(const Args& args) {
  po::options_description opts("config options");
  std::string action, config;
  std::vector<std::string> sets;
  opts.add_options()
      ("action", po::value(&action)->required(), "show | validate")
      ("config,c", po::value(&config)->required(), "card configuration: preset name or JSON path")
      ("set", po::value(&sets)->composing(), "override a field: --set matrix.rows=64 (repeatable)");
  po::positional_options_description pos;
  pos.add("action", 1).add("config", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim config show|validate CONFIG [--set key.path=value ...]",
             "  cardsim config show default\n  cardsim config show edge --set sram.size_bytes=2MiB\n"
             "  cardsim config validate my-card.json\n"))
    return 0;
  if (action != "show" && action != "validate")
    fail(ErrorKind::Usage, "unknown config action '{}' (expected show or validate)", action);
  CardConfig cfg = load_config(resolve_config_path(config), sets);
  if (action == "show") std::cout << config_to_string(cfg) << "\n";
  else std::cout << config << ": valid (" << cfg.name << ")\n";
  return 0;
}

}  // namespace cardsim::cli
