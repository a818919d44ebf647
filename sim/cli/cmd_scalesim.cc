// cardsim scalesim: SCALE-Sim's config + topology in, SCALE-Sim's COMPUTE_REPORT.csv out —
// either SCALE-Sim's own stall-free cycles (--timing scalesim) or cardsim's card model with
// both columns and the reason per difference (default).
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/cli/cli.h"
#include "sim/scalesim/scalesim.h"

namespace cardsim::cli {

int cmd_scalesim(const Args& args) {
  po::options_description opts("scalesim options");
  std::string cfg_path, topo_path, out_dir, timing = "cardsim", input_type = "conv", base = "default";
  bool quiet = false;
  opts.add_options()
      ("config,c", po::value(&cfg_path)->required(), "SCALE-Sim config (scale.cfg)")
      ("topology,t", po::value(&topo_path)->required(), "SCALE-Sim topology CSV")
      ("output,o", po::value(&out_dir)->required(), "output folder (COMPUTE_REPORT.csv, COMPARISON.csv)")
      ("input-type,i", po::value(&input_type)->default_value("conv"), "conv | gemm (topology rows are name, M, N, K)")
      ("timing", po::value(&timing)->default_value("cardsim"),
       "scalesim: SCALE-Sim v2/v3's stall-free cycles exactly | cardsim: run each layer on the card model")
      ("base", po::value(&base)->default_value("default"),
       "card the scale.cfg is applied to in cardsim mode (DRAM, PCIe, clock, energy come from it)")
      ("quiet,q", po::bool_switch(&quiet), "no table on stdout");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim scalesim -c scale.cfg -t topology.csv -o DIR [--timing scalesim|cardsim] [-i gemm]",
             "  cardsim scalesim -c configs/scalesim/scale.cfg -t configs/scalesim/resnet18.csv -o out --timing scalesim\n"
             "  cardsim scalesim -c configs/scalesim/scale.cfg -t configs/scalesim/resnet18.csv -o out\n"
             "  cardsim scalesim -c scale.cfg -t gemm.csv -i gemm -o out\n"))
    return 0;
  if (timing != "scalesim" && timing != "cardsim")
    fail(ErrorKind::Usage, "--timing '{}': expected scalesim or cardsim", timing);
  if (input_type != "conv" && input_type != "gemm")
    fail(ErrorKind::Usage, "--input-type '{}': expected conv or gemm", input_type);

  const scalesim::ScaleConfig sc = scalesim::parse_config(cfg_path);
  const std::vector<scalesim::Layer> layers = scalesim::parse_topology(topo_path, input_type == "gemm");
  std::vector<scalesim::CompatResult> compat;
  uint64_t compat_total = 0;
  for (const auto& l : layers) {
    compat.push_back(scalesim::compat_timing(l, sc.array_height, sc.array_width, sc.dataflow));
    compat_total += compat.back().total_cycles;
  }
  if (timing == "scalesim") {
    scalesim::write_reports(out_dir, sc, layers, compat, nullptr, nullptr);
    if (!quiet) {
      std::cout << fmt::format("{} {}x{} {}: {} layers, {} cycles (SCALE-Sim stall-free compute)\n", sc.run_name,
                               sc.array_height, sc.array_width, sc.dataflow, layers.size(), compat_total);
      std::cout << fmt::format("wrote {}/COMPUTE_REPORT.csv\n", out_dir);
    }
    return 0;
  }
  const CardConfig cfg = scalesim::card_config_for(sc, base);
  std::vector<scalesim::CardsimResult> card;
  uint64_t card_total = 0;
  int failed = 0;
  if (!quiet)
    std::cout << fmt::format("{:<4} {:<16} {:>12} {:>12} {:>8}  reason\n", "id", "layer", "SCALE-Sim", "cardsim", "diff %");
  for (size_t i = 0; i < layers.size(); ++i) {
    card.push_back(scalesim::run_on_card(layers[i], cfg));
    const auto& k = card.back();
    if (k.ok) card_total += k.total_cycles;
    else ++failed;
    if (!quiet) {
      std::string reason = scalesim::explain_difference(layers[i], compat[i], k, cfg);
      if (k.ok)
        std::cout << fmt::format("{:<4} {:<16} {:>12} {:>12} {:>+8.1f}  {}\n", i, layers[i].name, compat[i].total_cycles,
                                 k.total_cycles,
                                 100.0 * (double(k.total_cycles) - double(compat[i].total_cycles)) / double(compat[i].total_cycles),
                                 reason);
      else
        std::cout << fmt::format("{:<4} {:<16} {:>12} {:>12} {:>8}  {}\n", i, layers[i].name, compat[i].total_cycles, "-", "-", reason);
    }
  }
  scalesim::write_reports(out_dir, sc, layers, compat, &card, &cfg);
  if (!quiet) {
    std::cout << fmt::format("total: SCALE-Sim {} cycles, cardsim {} cycles ({} layers{})\n", compat_total, card_total,
                             layers.size(), failed ? fmt::format(", {} not run", failed) : "");
    std::cout << fmt::format("wrote {0}/COMPUTE_REPORT.csv and {0}/COMPARISON.csv\n", out_dir);
  }
  return failed ? 1 : 0;
}

}  // namespace cardsim::cli
