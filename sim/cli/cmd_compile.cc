#include <iostream>

#include "core/error.h"
#include "isa/loadable.h"
#include "sim/cli/cli.h"
#include "sim/cli/common.h"
#include "sim/config/config.h"

namespace cardsim::cli {

// Adds the options every command that compiles shares.
void add_compile_options(po::options_description& opts, CompileRequest& req, const char* precision) {
  opts.add_options()
      ("precision,p", po::value(&req.precision)->default_value(precision), "int8 | fp16 | bf16 | fp32")
      ("calibrate", po::value(&req.calibrate_dir), "folder of sample inputs (input_N.pb or test_data_set_*/) for int8 calibration")
      ("int8-mixed", po::value(&req.int8_mixed)->default_value("auto"),
       "int8 mixed precision: auto = int16 activations and weights for the high-resolution front (needs i16 in "
       "matrix.dtypes), off = pure int8")
      ("batch", po::value(&req.batch)->default_value(0), "batch size for a dynamic first dimension")
      ("shape", po::value(&req.shapes)->composing(), "static shape for an input: NAME=1x3x224x224 (repeatable)");
}

int cmd_compile(const Args& args) {
  po::options_description opts("compile options");
  std::string model, config, out;
  std::vector<std::string> sets;
  CompileRequest req;
  opts.add_options()
      ("model", po::value(&model)->required(), "ONNX network")
      ("config,c", po::value(&config)->default_value("default"), "card configuration (preset name or JSON)")
      ("set", po::value(&sets)->composing(), "override a config field: --set matrix.rows=64")
      ("output,o", po::value(&out)->required(), "the .cbin to write")
      ("explain", po::bool_switch(&req.explain), "print per-layer tiling, loop order, bytes moved and the expected bound");
  add_compile_options(opts, req, "int8");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim compile MODEL.onnx -c CONFIG [--precision P] -o OUT.cbin [--explain]",
             "  cardsim compile resnet18.onnx -c default -o resnet18.cbin\n"
             "  cardsim compile resnet18.onnx -c edge --precision fp16 -o r18-edge.cbin --explain\n"
             "  cardsim compile digits.onnx -c default --calibrate digits/test_data -o digits.cbin\n"))
    return 0;
  if (!ends_with(model, ".onnx")) fail(ErrorKind::Usage, "{}: compile takes an .onnx network", model);
  CardConfig cfg = load_config(resolve_config_path(config), sets);
  isa::Program prog = load_or_compile(model, cfg, req);
  isa::write_loadable(prog, out);  // atomic: no partial .cbin on failure
  size_t n = 0;
  for (const auto& q : prog.queues) n += q.size();
  std::cout << "compiled " << model << " for " << cfg.name << " (" << req.precision << "): " << n
            << " instructions, " << prog.layers.size() << " layers, " << prog.constants.size()
            << " constant bytes -> " << out << "\n";
  return 0;
}

}  // namespace cardsim::cli
