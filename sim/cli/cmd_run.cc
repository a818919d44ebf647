#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "models/card/card.h"
#include "sim/cli/cli.h"
#include "sim/cli/common.h"
#include "sim/config/config.h"
#include "sim/report/report.h"
#include "traces/traces.h"

namespace cardsim::cli {

void add_compile_options(po::options_description& opts, CompileRequest& req, const char* precision);

int cmd_run(const Args& args) {
  po::options_description opts("run options");
  std::string model, config, mode = "both", inputs, outputs, report_path, csv_path;
  std::vector<std::string> sets;
  int inferences = 1;
  uint64_t seed = 1;
  bool warm = false, quiet = false;
  std::string trace_path, trace_window, trace_detail, vcd_path, dram_trace_path, dram_trace_format;
  CompileRequest req;
  opts.add_options()
      ("model", po::value(&model)->required(), "ONNX network (compiled on the fly) or .cbin")
      ("config,c", po::value(&config)->default_value("default"), "card configuration (preset name or JSON)")
      ("set", po::value(&sets)->composing(), "override a config field: --set dram.channels=4")
      ("mode", po::value(&mode)->default_value("both"), "both (values + timing) | timing (no arithmetic) | functional")
      ("inputs", po::value(&inputs), "folder with input_N.pb (default: seeded random inputs)")
      ("seed", po::value(&seed)->default_value(1), "seed of the random inputs")
      ("outputs", po::value(&outputs), "write output_N.pb into this folder")
      ("inferences,n", po::value(&inferences)->default_value(1), "back-to-back inferences (steady-state throughput)")
      ("warm", po::bool_switch(&warm), "weights already resident in card DRAM (no model load over PCIe)")
      ("report", po::value(&report_path), "write the JSON report here")
      ("csv", po::value(&csv_path), "write the per-layer table as CSV here")
      ("quiet,q", po::bool_switch(&quiet), "no terminal summary (and no progress bar)")
      ("trace", po::value(&trace_path), "write a Chrome trace-event / Perfetto JSON trace here")
      ("trace-detail", po::value(&trace_detail)->default_value("layer"), "layer | instruction")
      ("trace-window", po::value(&trace_window), "trace only START:END (ns, us, ms, s, or c = cycles; an end may be empty)")
      ("vcd", po::value(&vcd_path), "write engine busy / bandwidth waveforms (VCD, GTKWave) here")
      ("dram-trace", po::value(&dram_trace_path), "write the DRAM request stream here")
      ("dram-trace-format", po::value(&dram_trace_format)->default_value("dramsim3"), "dramsim3 | ramulator");
  add_compile_options(opts, req, "int8");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm,
             "cardsim run MODEL.onnx|PROG.cbin -c CONFIG [--mode both|timing|functional] [--inputs DIR] [--report R.json]",
             "  cardsim run resnet18.onnx -c default\n"
             "  cardsim run resnet18.cbin -c edge --mode timing --inferences 8 --report r.json --csv layers.csv\n"
             "  cardsim run model.onnx --precision fp32 --inputs test_data_set_0 --outputs out/\n"))
    return 0;
  card::RunOptions ro;
  if (mode == "both") ro.mode = card::RunOptions::Mode::Both;
  else if (mode == "timing") ro.mode = card::RunOptions::Mode::Timing;
  else if (mode == "functional") ro.mode = card::RunOptions::Mode::Functional;
  else fail(ErrorKind::Usage, "--mode '{}': expected both, timing or functional", mode);
  if (inferences < 1) fail(ErrorKind::Usage, "--inferences {}: must be at least 1", inferences);
  ro.inferences = inferences;
  ro.warm = warm;

  CardConfig cfg = load_config(resolve_config_path(config), sets);
  isa::Program prog = load_or_compile(model, cfg, req);
  std::vector<Tensor> in = inputs.empty() ? random_inputs(prog, seed) : load_inputs(inputs, prog);
  traces::TraceOptions topt;
  traces::fill_from(topt, prog, cfg);
  topt.chrome_path = trace_path;
  topt.detail = traces::parse_trace_detail(trace_detail);
  if (!trace_window.empty()) topt.window = traces::parse_trace_window(trace_window, cfg.clock_ghz);
  topt.vcd_path = vcd_path;
  topt.dram_trace_path = dram_trace_path;
  topt.dram_trace_format = dram_trace_format;
  topt.progress = !quiet;  // make_observers adds the bar only when stderr is a terminal
  auto observers = traces::make_observers(topt);
  if (!observers->empty()) ro.observer = observers.get();
  card::RunResult res = card::run_program(prog, cfg, in, ro);
  observers->finish();

  report::Context ctx{&prog, &cfg, &res, model, mode, inferences, warm};
  nlohmann::json rep = report::build_report(ctx);
  if (!report_path.empty()) report::write_report_json(rep, report_path);
  if (!csv_path.empty()) report::write_layers_csv(rep, csv_path);
  if (!quiet) std::cout << report::terminal_summary(rep);
  if (!res.complete) {
    // The partial statistics are written (marked incomplete); the run itself failed.
    fail(ErrorKind::Fault, "{}{}", res.error, report_path.empty() ? "" : fmt::format(" (partial report: {})", report_path));
  }
  if (!outputs.empty() && ro.mode != card::RunOptions::Mode::Timing) write_outputs(outputs, prog, res.outputs);
  return 0;
}

}  // namespace cardsim::cli
