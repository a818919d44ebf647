// SCALE-Sim front door: config/topology parsing, the stall-free compat formula, one-layer
// runs on the card model, reports. See scalesim.h.
#include "sim/scalesim/scalesim.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "compiler/backend/compile.h"
#include "core/error.h"
#include "isa/isa.h"
#include "models/card/card.h"
#include "models/kernels/kernels.h"

namespace fs = std::filesystem;

namespace cardsim::scalesim {
namespace {

std::string trim(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

double number_field(const std::string& v, const std::string& origin, int line, const std::string& key) {
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  fail(ErrorKind::Format, "{}:{}: {} = '{}': expected a number", origin, line, key, v);
}

int64_t int_field(const std::string& v, const std::string& origin, int line, const std::string& column) {
  try {
    size_t used = 0;
    long long d = std::stoll(v, &used);
    if (used == v.size()) return int64_t(d);
  } catch (const std::exception&) {
  }
  fail(ErrorKind::Format, "{}:{}: {} = '{}': expected an integer", origin, line, column, v);
}

}  // namespace

// ---- scale.cfg ------------------------------------------------------------------------------

ScaleConfig parse_config(const std::string& path) { return parse_config_text(read_file(path, "SCALE-Sim config"), path); }

ScaleConfig parse_config_text(const std::string& text, const std::string& origin) {
  ScaleConfig c;
  c.origin = origin;
  std::istringstream in(text);
  std::string raw, section;
  int line = 0;
  bool saw_arch = false;
  while (std::getline(in, raw)) {
    ++line;
    std::string s = trim(raw);
    if (s.empty() || s[0] == '#' || s[0] == ';') continue;
    if (s.front() == '[') {
      if (s.back() != ']') fail(ErrorKind::Format, "{}:{}: section header '{}' lacks its ']'", origin, line, s);
      section = lower(trim(s.substr(1, s.size() - 2)));
      if (section == "architecture_presets") saw_arch = true;
      continue;
    }
    // configparser accepts both "key: value" and "key = value"; keys are case-insensitive.
    size_t sep = s.find_first_of(":=");
    if (sep == std::string::npos)
      fail(ErrorKind::Format, "{}:{}: '{}': expected 'Key: value' or 'Key = value'", origin, line, s);
    const std::string key_text = trim(s.substr(0, sep));  // as written, for messages
    const std::string key = lower(key_text);
    const std::string val = trim(s.substr(sep + 1));
    if (section.empty()) fail(ErrorKind::Format, "{}:{}: '{}' appears before any [section]", origin, line, key_text);
    auto num = [&] { return number_field(val, origin, line, key_text); };
    auto positive_int = [&] {
      double d = num();
      if (d < 1 || d != std::floor(d) || d > 1 << 20)
        fail(ErrorKind::Format, "{}:{}: {} = {}: expected a whole number in [1, 1048576]", origin, line, key_text, val);
      return int(d);
    };
    if (section == "general") {
      if (key == "run_name") c.run_name = val;
    } else if (section == "architecture_presets") {
      if (key == "arrayheight") c.array_height = positive_int();
      else if (key == "arraywidth") c.array_width = positive_int();
      else if (key == "ifmapsramszkb") c.ifmap_sram_kb = num();
      else if (key == "filtersramszkb") c.filter_sram_kb = num();
      else if (key == "ofmapsramszkb") c.ofmap_sram_kb = num();
      else if (key == "ifmapoffset") c.ifmap_offset = uint64_t(num());
      else if (key == "filteroffset") c.filter_offset = uint64_t(num());
      else if (key == "ofmapoffset") c.ofmap_offset = uint64_t(num());
      else if (key == "bandwidth") c.bandwidth_words = num();
      else if (key == "dataflow") {
        c.dataflow = lower(val);
        if (c.dataflow != "os" && c.dataflow != "ws" && c.dataflow != "is")
          fail(ErrorKind::Format, "{}:{}: Dataflow = '{}': expected os, ws or is", origin, line, val);
      }
      // Bank/layout/port keys describe SCALE-Sim's SRAM layout model: read, not modelled.
    } else if (section == "run_presets") {
      if (key == "interfacebandwidth") {
        std::string v = val;
        for (auto& ch : v) ch = char(std::toupper(static_cast<unsigned char>(ch)));
        if (v != "USER" && v != "CALC")
          fail(ErrorKind::Format, "{}:{}: InterfaceBandwidth = '{}': expected USER or CALC", origin, line, val);
        c.interface_bandwidth = v;
      }
    }
  }
  if (!saw_arch) fail(ErrorKind::Format, "{}: no [architecture_presets] section (not a SCALE-Sim config?)", origin);
  for (double kb : {c.ifmap_sram_kb, c.filter_sram_kb, c.ofmap_sram_kb})
    if (!(kb > 0)) fail(ErrorKind::Format, "{}: SRAM sizes (IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB) must be > 0", origin);
  return c;
}

// ---- topology CSV ---------------------------------------------------------------------------

std::vector<Layer> parse_topology(const std::string& path, bool gemm) {
  return parse_topology_text(read_file(path, "SCALE-Sim topology"), path, gemm);
}

std::vector<Layer> parse_topology_text(const std::string& text, const std::string& origin, bool gemm) {
  std::vector<Layer> out;
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  bool header = true;
  while (std::getline(in, raw)) {
    ++line;
    std::string s = trim(raw);
    if (header) {  // SCALE-Sim skips the first line, whatever it holds
      header = false;
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(s);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(trim(cell));
    while (!f.empty() && f.back().empty()) f.pop_back();  // the trailing comma, extra empty columns
    if (f.empty()) continue;                                // blank or all-empty row (",,,,")
    Layer l;
    l.name = f[0];
    if (l.name.empty()) fail(ErrorKind::Format, "{}:{}: empty layer name", origin, line);
    if (gemm) {
      if (f.size() < 4) fail(ErrorKind::Format, "{}:{}: layer '{}': expected 'name, M, N, K' (got {} fields)", origin, line, l.name, f.size());
      l.gemm = true;
      l.M = int_field(f[1], origin, line, "M");
      l.N = int_field(f[2], origin, line, "N");
      l.K = int_field(f[3], origin, line, "K");
      if (l.M < 1 || l.N < 1 || l.K < 1) fail(ErrorKind::Format, "{}:{}: layer '{}': M, N, K must be >= 1", origin, line, l.name);
      // SCALE-Sim's mapping: ifmap M x K, filter 1 x K, 1 channel, N filters.
      l.ifmap_h = l.M, l.ifmap_w = l.K, l.filter_h = 1, l.filter_w = l.K, l.channels = 1, l.num_filters = l.N;
      out.push_back(l);
      continue;
    }
    static const char* kCols[] = {"Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                  "Channels", "Num Filter", "Strides"};
    if (f.size() < 8)
      fail(ErrorKind::Format,
           "{}:{}: layer '{}': expected 8 fields (name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
           "Channels, Num Filter, Strides), got {}", origin, line, l.name, f.size());
    int64_t v[9];
    for (int k = 1; k < 8; ++k) {
      v[k] = int_field(f[size_t(k)], origin, line, kCols[k]);
      if (v[k] < 1) fail(ErrorKind::Format, "{}:{}: layer '{}': {} = {}: must be >= 1", origin, line, l.name, kCols[k], v[k]);
    }
    v[8] = v[7];  // one stride for both directions unless a 9th numeric column gives the width stride
    if (f.size() >= 9 && !f[8].empty()) {
      v[8] = int_field(f[8], origin, line, "Stride width");
      if (v[8] < 1) fail(ErrorKind::Format, "{}:{}: layer '{}': stride width {} must be >= 1", origin, line, l.name, v[8]);
    }
    l.ifmap_h = v[1], l.ifmap_w = v[2], l.filter_h = v[3], l.filter_w = v[4], l.channels = v[5], l.num_filters = v[6];
    l.stride_h = v[7], l.stride_w = v[8];
    if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
      fail(ErrorKind::Format, "{}:{}: layer '{}': filter {}x{} larger than the ifmap {}x{} (SCALE-Sim inputs are pre-padded)",
           origin, line, l.name, l.filter_h, l.filter_w, l.ifmap_h, l.ifmap_w);
    if (l.name.find("DP") != std::string::npos) {
      // Depthwise: SCALE-Sim runs one single-channel layer per channel.
      const int64_t n = l.channels;
      for (int64_t c = 0; c < n; ++c) {
        Layer d = l;
        d.name = l.name + "Channel_" + std::to_string(c);
        d.channels = 1;
        out.push_back(d);
      }
    } else {
      out.push_back(l);
    }
  }
  if (out.empty()) fail(ErrorKind::Format, "{}: no layers (the first line is the header; layers follow)", origin);
  return out;
}

// ---- SCALE-Sim's formula --------------------------------------------------------------------

CompatResult compat_timing(const Layer& l, int rows, int cols, const std::string& dataflow) {
  CompatResult r;
  const uint64_t P = uint64_t(l.pixels()), W = uint64_t(l.window()), M = uint64_t(l.num_filters);
  const uint64_t R = uint64_t(rows), C = uint64_t(cols);
  if (dataflow == "os") r.Sr = P, r.Sc = M, r.T = W;
  else if (dataflow == "ws") r.Sr = W, r.Sc = M, r.T = P;
  else if (dataflow == "is") r.Sr = W, r.Sc = P, r.T = M;
  else fail(ErrorKind::Usage, "dataflow '{}': expected os, ws or is", dataflow);
  const uint64_t row_folds = ceil_div(r.Sr, R), col_folds = ceil_div(r.Sc, C);
  r.folds = row_folds * col_folds;
  // OS: operands stream in over T cycles, the skew adds R + C - 2. WS/IS first fill the
  // stationary operand (R cycles) and nothing overlaps between folds.
  r.cycles_per_fold = dataflow == "os" ? r.T + R + C - 2 : 2 * R + C + r.T - 2;
  r.total_cycles = r.folds * r.cycles_per_fold - 1;
  double map_sum = 0, util_sum = 0;
  for (uint64_t fr = 0; fr < row_folds; ++fr) {
    const uint64_t rows_used = std::min(R, r.Sr - fr * R);
    for (uint64_t fc = 0; fc < col_folds; ++fc) {
      const uint64_t cols_used = std::min(C, r.Sc - fc * C);
      const double used = double(rows_used * cols_used);
      map_sum += used / double(R * C);
      util_sum += used * double(r.T) / (double(R * C) * double(r.cycles_per_fold));
    }
  }
  r.mapping_eff_pct = 100.0 * map_sum / double(r.folds);
  r.compute_util_pct = 100.0 * util_sum / double(r.folds);
  r.overall_util_pct = 100.0 * double(l.macs()) / (double(r.total_cycles) * double(R * C));
  return r;
}

// ---- cardsim's own model --------------------------------------------------------------------

CardConfig card_config_for(const ScaleConfig& sc, const std::string& base, uint64_t min_sram_bytes,
                           uint64_t min_acc_bytes) {
  const uint64_t sram = std::max<uint64_t>(uint64_t((sc.ifmap_sram_kb + sc.filter_sram_kb) * 1024), min_sram_bytes);
  const uint64_t acc = std::max<uint64_t>(uint64_t(sc.ofmap_sram_kb * 1024), min_acc_bytes);
  std::vector<std::string> sets = {
      fmt::format("matrix.rows={}", sc.array_height),
      fmt::format("matrix.cols={}", sc.array_width),
      fmt::format("matrix.dataflows=[\"{}\"]", sc.dataflow),
      "matrix.dtypes=[\"i8\"]",
      fmt::format("sram.size_bytes={}", sram),
      fmt::format("accumulator.size_bytes={}", acc),
      fmt::format("vector.lanes={}", sc.array_width),
  };
  CardConfig cfg = load_config(resolve_config_path(base), sets);
  cfg.name = sc.run_name;
  return cfg;
}

int64_t edge_padding_h(const Layer& l) {
  return std::max<int64_t>(0, (l.ofmap_h() - 1) * l.stride_h + l.filter_h - l.ifmap_h);
}
int64_t edge_padding_w(const Layer& l) {
  return std::max<int64_t>(0, (l.ofmap_w() - 1) * l.stride_w + l.filter_w - l.ifmap_w);
}

ir::Graph layer_graph(const Layer& l) {
  ir::Graph g;
  g.name = l.name;
  std::mt19937 rng(0x5ca1e);  // seeded: the same layer always gets the same weights
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto value = [&](const std::string& name, const Shape& s) -> ir::Value& {
    ir::Value& v = g.values[name];
    v.name = name;
    v.dtype = DType::F32;
    v.shape = s;
    return v;
  };
  auto constant = [&](const std::string& name, const Shape& s) {
    Tensor t(DType::F32, s);
    for (int64_t k = 0; k < t.numel(); ++k) t.ptr<float>()[k] = u(rng);
    value(name, s).constant = std::move(t);
  };
  ir::Node n;
  n.name = l.name.empty() ? "layer" : l.name;
  if (l.gemm) {
    value("x", {l.M, l.K});
    constant("w", {l.K, l.N});
    n.op_type = "MatMul";
    n.inputs = {"x", "w"};
    value("y", {l.M, l.N});
  } else {
    value("x", {1, l.channels, l.ifmap_h, l.ifmap_w});
    constant("w", {l.num_filters, l.channels, l.filter_h, l.filter_w});
    n.op_type = "Conv";
    n.inputs = {"x", "w"};
    auto ints = [](std::vector<int64_t> v) {
      ir::Attr a;
      a.kind = ir::Attr::Kind::Ints;
      a.ints = std::move(v);
      return a;
    };
    n.attrs["kernel_shape"] = ints({l.filter_h, l.filter_w});
    n.attrs["strides"] = ints({l.stride_h, l.stride_w});
    n.attrs["pads"] = ints({0, 0, edge_padding_h(l), edge_padding_w(l)});
    value("y", {1, l.num_filters, l.ofmap_h(), l.ofmap_w()});
  }
  n.outputs = {"y"};
  g.nodes.push_back(n);
  g.inputs = {"x"};
  g.outputs = {"y"};
  return g;
}

namespace {

// cardsim's own fold formula (kernels::cost) on the whole, untiled layer.
uint64_t whole_layer_cycles(const Layer& l, const CardConfig& cfg) {
  isa::Instr in;
  in.op = isa::Opcode::MxuConv;
  const std::string& df = cfg.matrix.dataflows.front();
  in.df = int64_t(df == "ws" ? isa::Dataflow::WS : df == "os" ? isa::Dataflow::OS : isa::Dataflow::IS);
  in.a_type = in.b_type = int64_t(DType::I8);
  in.a_space = in.b_space = int64_t(isa::Space::Sram);
  in.d_space = int64_t(isa::Space::Acc);
  in.out_h = l.ofmap_h(), in.out_w = l.ofmap_w(), in.out_c = l.num_filters;
  in.in_c = l.channels, in.in_h = l.ifmap_h, in.in_w = l.ifmap_w;
  in.k_h = l.filter_h, in.k_w = l.filter_w;
  return kernels::cost(in, cfg).cycles;
}

}  // namespace

CardsimResult run_on_card(const Layer& l, const CardConfig& cfg) {
  CardsimResult r;
  r.macs = l.macs();
  try {
    r.whole_layer_cycles = whole_layer_cycles(l, cfg);
    ir::Graph g = layer_graph(l);
    backend::CompileOptions opts;
    opts.precision = "int8";
    opts.int8_mixed = "off";  // SCALE-Sim models the 8-bit array: no 16-bit passes
    isa::Program prog = backend::compile(g, cfg, opts);
    std::vector<Tensor> inputs;
    inputs.emplace_back(DType::F32, g.values.at("x").shape);
    card::RunOptions ro;
    ro.mode = card::RunOptions::Mode::Timing;
    ro.warm = true;  // weights resident: SCALE-Sim does not model the model load either
    card::RunResult res = card::run_program_forked(prog, cfg, inputs, ro);
    if (!res.complete) {
      r.error = res.error;
      return r;
    }
    const auto& st = res.stats;
    r.total_cycles = st.total_cycles;
    for (const auto& e : st.engines) {
      if (e.name != "mxu") continue;
      r.mxu_busy_cycles = e.busy_cycles;
      r.mxu_mem_stall_cycles = e.mem_stall_cycles;
      r.mxu_sync_stall_cycles = e.sync_stall_cycles;
      auto it = e.opcode_counts.find("mxu.conv");
      r.mxu_instructions = it == e.opcode_counts.end() ? e.instructions : it->second;
    }
    r.dram_bytes = st.dram.bytes_read + st.dram.bytes_written;
    r.bank_conflicts = st.memory.sram_bank_conflicts + st.memory.acc_bank_conflicts;
    r.ok = true;
  } catch (const Error& e) {
    r.error = e.what();
  } catch (const std::exception& e) {  // a bug below us: keep the other layers going, say so
    r.error = fmt::format("internal error compiling/running layer '{}': {}", l.name, e.what());
  }
  return r;
}

std::string explain_difference(const Layer& l, const CompatResult& compat, const CardsimResult& card,
                               const CardConfig& cfg) {
  if (!card.ok) return "not run on the card model: " + card.error;
  std::vector<std::string> parts;
  auto signed_num = [](double v) { return fmt::format("{:+.0f}", v); };
  parts.push_back("SCALE-Sim reports total-1: +1");
  const double overlap = double(card.whole_layer_cycles) - double(compat.total_cycles + 1);
  if (overlap != 0) {
    const std::string& df = cfg.matrix.dataflows.front();
    if (df != "os" && cfg.matrix.weight_buffers >= 2)
      parts.push_back(fmt::format("fold overlap (weight_buffers={}: folds are pipelined, the next fold's {}-cycle fill hides "
                                  "under the current fold's stream and its stream follows without waiting for the drain): {}",
                                  cfg.matrix.weight_buffers, cfg.matrix.rows, signed_num(overlap)));
    else
      parts.push_back(fmt::format("per-fold formula: {}", signed_num(overlap)));
  }
  const double tiling = double(card.mxu_busy_cycles) - double(card.whole_layer_cycles);
  if (tiling != 0)
    parts.push_back(fmt::format("compiler tiles the layer into {} mxu.conv (SRAM/accumulator capacity), each with its own fill/drain: {}",
                                card.mxu_instructions, signed_num(tiling)));
  const double rest = double(card.total_cycles) - double(card.mxu_busy_cycles);
  if (rest != 0)
    parts.push_back(fmt::format("DMA/DRAM ({} bytes): the matrix unit waits {} cycles for operand tiles (first load, "
                                "DMA slower than the array) and {} on SRAM/accumulator ports, then the last store and "
                                "requant drain: {}",
                                card.dram_bytes, card.mxu_sync_stall_cycles, card.mxu_mem_stall_cycles, signed_num(rest)));
  if (card.bank_conflicts) parts.push_back(fmt::format("{} SRAM/accumulator bank conflicts (included above)", card.bank_conflicts));
  if (edge_padding_h(l) || edge_padding_w(l))
    parts.push_back(fmt::format("padding: SCALE-Sim's ceil counts a partial window at the far edge, cardsim pads it "
                                "({} row, {} column; same output size, same MACs)", edge_padding_h(l), edge_padding_w(l)));
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? "; " : "") + parts[i];
  return s;
}

void write_reports(const std::string& dir, const ScaleConfig& sc, const std::vector<Layer>& layers,
                   const std::vector<CompatResult>& compat, const std::vector<CardsimResult>* card,
                   const CardConfig* cfg) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::Io, "{}: cannot create the output folder ({})", dir, ec.message());
  auto open = [&](const std::string& name) {
    std::ofstream f(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
    if (!f) fail(ErrorKind::Io, "{}: cannot write {}", dir, name);
    return f;
  };
  const double pes = double(sc.array_height) * double(sc.array_width);
  {
    std::ofstream f = open("COMPUTE_REPORT.csv");
    f << "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n";
    for (size_t i = 0; i < layers.size(); ++i) {
      const CompatResult& c = compat[i];
      if (!card) {
        f << fmt::format("{}, {}, {}, {}, {}, {},\n", i, c.total_cycles, 0, c.overall_util_pct, c.mapping_eff_pct,
                         c.compute_util_pct);
        continue;
      }
      const CardsimResult& k = (*card)[i];
      if (!k.ok) {
        f << fmt::format("{}, , , , {}, ,\n", i, c.mapping_eff_pct);
        continue;
      }
      const double overall = 100.0 * double(k.macs) / (double(k.total_cycles) * pes);
      const double util = k.mxu_busy_cycles ? 100.0 * double(k.macs) / (double(k.mxu_busy_cycles) * pes) : 0;
      f << fmt::format("{}, {}, {}, {}, {}, {},\n", i, k.total_cycles, k.total_cycles - std::min(k.total_cycles, k.mxu_busy_cycles),
                       overall, c.mapping_eff_pct, util);
    }
  }
  if (!card) return;
  std::ofstream f = open("COMPARISON.csv");
  f << "LayerID,Layer,MACs,SCALE-Sim cycles,cardsim cycles,cardsim mxu busy,difference %,reason\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const CompatResult& c = compat[i];
    const CardsimResult& k = (*card)[i];
    std::string reason = explain_difference(layers[i], c, k, *cfg);
    for (auto& ch : reason)
      if (ch == '"') ch = '\'';
    if (k.ok)
      f << fmt::format("{},{},{},{},{},{},{:.2f},\"{}\"\n", i, layers[i].name, layers[i].macs(), c.total_cycles, k.total_cycles,
                       k.mxu_busy_cycles, 100.0 * (double(k.total_cycles) - double(c.total_cycles)) / double(c.total_cycles), reason);
    else
      f << fmt::format("{},{},{},{},,,,\"{}\"\n", i, layers[i].name, layers[i].macs(), c.total_cycles, reason);
  }
}

}  // namespace cardsim::scalesim
