// cardsim check: the functional test for users' CI pipelines. Exit 0 when every output
// matches, 1 on a mismatch, 2 on an error.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "compiler/frontend/tensor_io.h"
#include "core/error.h"
#include "models/card/card.h"
#include "sim/cli/cli.h"
#include "sim/cli/common.h"
#include "sim/config/config.h"

namespace cardsim::cli {

namespace fs = std::filesystem;
void add_compile_options(po::options_description& opts, CompileRequest& req, const char* precision);

namespace {

struct Comparison {
  std::string name;
  bool pass = true;
  std::string message;
};

std::string xml_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '&': r += "&amp;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  }
  return r;
}

std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return shape_str(idx);
}

Comparison compare(const std::string& name, const Tensor& got, const Tensor& want, double rtol, double atol) {
  Comparison c;
  c.name = name;
  if (got.shape != want.shape) {
    c.pass = false;
    c.message = fmt::format("output '{}': shape {} but expected {}", name, shape_str(got.shape), shape_str(want.shape));
    return c;
  }
  bool exact = dtype_is_integer(want.dtype) && dtype_is_integer(got.dtype);
  int64_t worst = -1, bad = 0;
  double worst_excess = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.get(size_t(i)), w = want.get(size_t(i));
    double tol = exact ? 0 : atol + rtol * std::fabs(w);
    double err = std::fabs(g - w);
    bool ok = err <= tol || (std::isnan(g) && std::isnan(w));
    if (!ok) {
      ++bad;
      double excess = std::isnan(err) ? INFINITY : err - tol;
      if (worst < 0 || excess > worst_excess) { worst = i; worst_excess = excess; }
    }
  }
  if (bad) {
    c.pass = false;
    c.message = fmt::format("output '{}': {} of {} elements differ beyond {}; worst at {}: got {:.9g}, expected {:.9g}",
                            name, bad, want.numel(), exact ? "exact match" : fmt::format("rtol {} atol {}", rtol, atol),
                            index_str(want.shape, worst), got.get(size_t(worst)), want.get(size_t(worst)));
  } else {
    c.message = fmt::format("output '{}': {} elements match", name, want.numel());
  }
  return c;
}

// Runs onnxruntime-node (tools/ort_run.js) on the same inputs into a temporary folder.
std::string onnxruntime_reference(const std::string& model, const std::string& inputs) {
  fs::path tool = fs::path(CARDSIM_SOURCE_DIR) / "tools" / "ort_run.js";
  if (!fs::exists(tool)) fail(ErrorKind::Io, "--reference onnxruntime: {} is missing", tool.string());
  fs::path out = fs::temp_directory_path() / fmt::format("cardsim-ort-{}", ::getpid());
  fs::create_directories(out);
  std::string cmd = fmt::format("node '{}' '{}' --inputs '{}' --outputs '{}' >&2", tool.string(), model, inputs, out.string());
  int rc = std::system(cmd.c_str());
  if (rc != 0)
    fail(ErrorKind::Io, "--reference onnxruntime: '{}' failed (exit {}); is setup done (tools/node/node_modules)?", cmd, rc);
  return out.string();
}

}  // namespace

int cmd_check(const Args& args) {
  po::options_description opts("check options");
  std::string model, config, inputs, expected, reference, junit;
  std::vector<std::string> sets;
  double rtol = 1e-3, atol = 1e-5;
  CompileRequest req;
  req.precision = "fp32";
  opts.add_options()
      ("model", po::value(&model)->required(), "ONNX network or .cbin")
      ("config,c", po::value(&config)->default_value("default"), "card configuration")
      ("set", po::value(&sets)->composing(), "override a config field")
      ("inputs", po::value(&inputs)->required(), "folder with input_N.pb")
      ("expected", po::value(&expected), "folder with the expected output_N.pb")
      ("reference", po::value(&reference), "compute the expected outputs with: onnxruntime")
      ("rtol", po::value(&rtol)->default_value(1e-3), "relative tolerance (float outputs)")
      ("atol", po::value(&atol)->default_value(1e-5), "absolute tolerance (float outputs)")
      ("junit", po::value(&junit), "write a JUnit XML report here");
  add_compile_options(opts, req, "fp32");  // a functional check defaults to float
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm,
             "cardsim check MODEL -c CONFIG --inputs DIR (--expected DIR | --reference onnxruntime) [--junit R.xml]",
             "  D=/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding\n"
             "  cardsim check $D/model.onnx --precision fp32 --inputs $D/test_data_set_0 --expected $D/test_data_set_0\n"
             "  cardsim check mynet.onnx -c edge --precision fp32 --inputs mydata --reference onnxruntime --junit check.xml\n"))
    return 0;
  if (expected.empty() == reference.empty())
    fail(ErrorKind::Usage, "give exactly one of --expected DIR or --reference onnxruntime");
  if (!reference.empty() && reference != "onnxruntime")
    fail(ErrorKind::Usage, "--reference '{}': the only reference runtime is 'onnxruntime'", reference);
  if (!reference.empty() && !ends_with(model, ".onnx"))
    fail(ErrorKind::Usage, "--reference onnxruntime needs the .onnx network, not {}", model);

  CardConfig cfg = load_config(resolve_config_path(config), sets);
  isa::Program prog = load_or_compile(model, cfg, req);
  std::vector<Tensor> in = load_inputs(inputs, prog);
  for (size_t i = 0; i < in.size(); ++i)  // load_inputs checks count and shape; the dtype here
    if (in[i].dtype != prog.inputs[i].dtype)
      fail(ErrorKind::Format, "{}/input_{}.pb: network input '{}' expects dtype {} shape {}, the file holds {} {}", inputs, i,
           prog.inputs[i].name, dtype_name(prog.inputs[i].dtype), shape_str(prog.inputs[i].shape), dtype_name(in[i].dtype),
           shape_str(in[i].shape));
  std::string expected_dir = expected.empty() ? onnxruntime_reference(model, inputs) : expected;
  auto want = read_test_data_dir(expected_dir, "output_");
  if (want.size() != prog.outputs.size()) {
    std::string names;
    for (size_t i = 0; i < prog.outputs.size(); ++i)
      names += fmt::format("{}output_{}.pb = '{}' {} {}", i ? ", " : "", i, prog.outputs[i].name,
                           dtype_name(prog.outputs[i].dtype), shape_str(prog.outputs[i].shape));
    fail(ErrorKind::Format, "{}: found {} output_N.pb files, the network has {} outputs ({})", expected_dir, want.size(),
         prog.outputs.size(), names);
  }

  card::RunOptions ro;
  ro.mode = card::RunOptions::Mode::Both;
  card::RunResult res = card::run_program(prog, cfg, in, ro);
  if (!res.complete) fail(ErrorKind::Fault, "{}", res.error);

  std::vector<Comparison> results;
  bool all = true;
  for (size_t i = 0; i < want.size(); ++i) {
    results.push_back(compare(prog.outputs[i].name, res.outputs.at(i), want[i].second, rtol, atol));
    all &= results.back().pass;
    std::cout << (results.back().pass ? "PASS " : "FAIL ") << results.back().message << "\n";
  }
  if (!junit.empty()) {
    std::string tmp = junit + ".tmp";
    {
      std::ofstream f(tmp);
      size_t failures = 0;
      for (auto& r : results) failures += !r.pass;
      f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << fmt::format("<testsuites><testsuite name=\"cardsim check {}\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n",
                       xml_escape(model), results.size(), failures);
      for (auto& r : results) {
        f << fmt::format("  <testcase classname=\"{}\" name=\"{}\">", xml_escape(fs::path(model).filename().string()),
                         xml_escape(r.name));
        if (!r.pass) f << fmt::format("<failure message=\"{}\"/>", xml_escape(r.message));
        f << "</testcase>\n";
      }
      f << "</testsuite></testsuites>\n";
    }
    fs::rename(tmp, junit);
  }
  std::cout << (all ? "check passed" : "check FAILED") << ": " << results.size() << " outputs\n";
  return all ? 0 : 1;
}

}  // namespace cardsim::cli
