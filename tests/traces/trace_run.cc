// trace_run PROG.cbin OUTDIR [config] [detail]: runs a compiled program on the card (timing
// mode, zero inputs) with every trace writer and the report attached — the same wiring
// `cardsim run --trace/--vcd/--dram-trace/--report` uses. For size checks on big networks
// (a resnet50 trace at layer detail must stay under 20 MB) and for README pictures.
#include <unistd.h>

#include <iostream>

#include "core/error.h"
#include "isa/loadable.h"
#include "models/card/card.h"
#include "sim/card_config.h"
#include "sim/report/report.h"
#include "traces/traces.h"

using namespace cardsim;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: trace_run PROG.cbin OUTDIR [CONFIG=default] [layer|instruction]\n";
    return 2;
  }
  try {
    const std::string out = argv[2];
    const isa::Program prog = isa::read_loadable(argv[1]);
    const CardConfig cfg = load_config(resolve_config_path(argc > 3 ? argv[3] : "default"));
    traces::TraceOptions o;
    traces::fill_from(o, prog, cfg);
    o.chrome_path = out + "/trace.json";
    o.detail = traces::parse_trace_detail(argc > 4 ? argv[4] : "layer");
    o.vcd_path = out + "/trace.vcd";
    o.dram_trace_path = out + "/dram.trace";
    o.progress = true;
    auto obs = traces::make_observers(o);
    std::vector<Tensor> inputs;
    for (const auto& b : prog.inputs) inputs.emplace_back(b.dtype, b.shape);
    card::RunOptions ro;
    ro.mode = card::RunOptions::Mode::Timing;
    ro.observer = obs.get();
    const card::RunResult res = card::run_program(prog, cfg, inputs, ro);
    obs->finish();
    report::Context ctx{&prog, &cfg, &res, argv[1], "timing", 1, false};
    const auto rep = report::build_report(ctx);
    report::validate_report(rep);
    report::write_report_json(rep, out + "/report.json");
    report::write_layers_csv(rep, out + "/layers.csv");
    std::cout << report::terminal_summary(rep);
    return res.complete ? 0 : 1;
  } catch (const Error& e) {
    std::cerr << "trace_run: " << e.what() << "\n";
    return 1;
  }
}
