// build_report: statistics + program + config + energy model -> the cardsim-report/1 JSON.
#include "sim/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include <boost/histogram.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "core/error.h"
#include "isa/isa.h"
#include "models/pcie/pcie_link.h"
#include "sim/report/energy.h"
#include "sim/report/report_detail.h"

#ifndef CARDSIM_VERSION
#define CARDSIM_VERSION "unknown"
#endif

namespace cardsim::report {

using json = nlohmann::json;

double fixed(double x) {
  if (!std::isfinite(x)) return 0;
  if (x == 0) return 0;
  return std::stod(fmt::format("{:.9g}", x));
}

std::vector<uint64_t> distribute(uint64_t total, const std::vector<uint64_t>& weights) {
  std::vector<uint64_t> out(weights.size(), 0);
  if (weights.empty()) return out;
  unsigned __int128 sum = 0;
  for (uint64_t w : weights) sum += w;
  if (sum == 0) {
    out.back() = total;  // nothing to weigh by: the last entry (the "outside layers" row) takes it
    return out;
  }
  std::vector<std::pair<unsigned __int128, size_t>> remainders;
  uint64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const unsigned __int128 p = (unsigned __int128)total * weights[i];
    out[i] = uint64_t(p / sum);
    given += out[i];
    remainders.push_back({p % sum, i});
  }
  // Largest remainder first; ties to the lower index (deterministic).
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total; ++k, ++given) ++out[remainders[k % remainders.size()].second];
  return out;
}

std::vector<uint64_t> attribute_cycles_by_span(const std::vector<std::pair<int64_t, int64_t>>& spans,
                                               uint64_t total_cycles) {
  // Each cycle of [0, total) goes to the running layer (start <= c < end) that started last —
  // the newest work in a pipeline — or to the last entry (outside layers) when none runs.
  const int64_t T = int64_t(total_cycles);
  std::vector<uint64_t> out(spans.size() + 1, 0);
  std::vector<int64_t> cuts{0, T};
  for (auto [s, e] : spans) {
    if (s >= 0) {
      cuts.push_back(std::clamp<int64_t>(s, 0, T));
      cuts.push_back(std::clamp<int64_t>(e, 0, T));
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    const int64_t a = cuts[k], b = cuts[k + 1];
    size_t best = spans.size();
    int64_t best_start = -1;
    for (size_t i = 0; i < spans.size(); ++i) {
      const auto [s, e] = spans[i];
      if (s < 0 || !(s <= a && a < e)) continue;
      if (s >= best_start) best_start = s, best = i;
    }
    out[best] += uint64_t(b - a);
  }
  return out;
}

json histogram_json(const std::vector<double>& samples_in) {
  // Log-spaced bins (Boost.Histogram) from 1 ns to just above the largest sample; percentiles
  // from the sorted samples (exact, nearest rank).
  json j;
  std::vector<double> v = samples_in;
  j["count"] = v.size();
  if (v.empty()) {
    for (const char* k : {"mean", "min", "max", "p50", "p90", "p99"}) j[k] = 0;
    j["edges"] = json::array();
    j["counts"] = json::array();
    return j;
  }
  std::sort(v.begin(), v.end());
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  auto pct = [&](double p) {
    size_t rank = size_t(std::ceil(p * double(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  j["mean"] = fixed(sum / double(v.size()));
  j["min"] = fixed(v.front());
  j["max"] = fixed(v.back());
  j["p50"] = fixed(pct(0.50));
  j["p90"] = fixed(pct(0.90));
  j["p99"] = fixed(pct(0.99));
  namespace bh = boost::histogram;
  const double lo = 1.0;
  const double hi = std::max(10.0, std::pow(10.0, std::ceil(std::log10(std::max(v.back(), 1.0) * 1.000001))));
  const unsigned bins = unsigned(std::lround(std::log10(hi / lo) * 8));  // 8 bins per decade
  auto h = bh::make_histogram(bh::axis::regular<double, bh::axis::transform::log>(bins, lo, hi));
  for (double x : v) h(std::max(x, lo));  // sub-ns samples land in the first bin
  json edges = json::array(), counts = json::array();
  for (unsigned i = 0; i < bins; ++i) {
    edges.push_back(fixed(h.axis().bin(int(i)).lower()));
    counts.push_back(uint64_t(h.at(int(i))));
  }
  edges.push_back(fixed(hi));
  j["edges"] = edges;
  j["counts"] = counts;
  return j;
}

namespace {

double pcie_peak_gbps(const CardConfig& cfg) {
  try {
    return pcie::PcieLink(cfg.pcie).raw_bandwidth_gbps();
  } catch (const Error&) {
    return 0;
  }
}

std::string bound_of(const isa::LayerInfo* info, const card::LayerStats& ls, uint64_t ref_cycles,
                     double dram_bytes_per_cycle) {
  if (info && info->placement == "host") return "host";
  uint64_t compute = 0, dma = 0;
  for (size_t q = 0; q < ls.busy_cycles.size(); ++q) (q < 2 ? compute : dma) = std::max(q < 2 ? compute : dma, ls.busy_cycles[q]);
  if (compute == 0 && dma == 0) return "sync";
  // Engines busy less than half the layer's time: it mostly waited on other layers/engines.
  if (2 * std::max(compute, dma) < ref_cycles) return "sync";
  if (compute >= dma) return "compute";
  const uint64_t dram_bytes = ls.dram_read_bytes + ls.dram_write_bytes;
  if (dram_bytes == 0) return "sram";
  (void)dram_bytes_per_cycle;
  return "dram";
}

}  // namespace

json build_report(const Context& ctx) {
  if (!ctx.config || !ctx.result)
    fail(ErrorKind::Internal, "build_report: Context needs config and result (program may be null)");
  const CardConfig& cfg = *ctx.config;
  const card::RunResult& res = *ctx.result;
  const card::RunStats& s = res.stats;
  const isa::Program* prog = ctx.program;
  const double clock_ghz = s.clock_ghz > 0 ? s.clock_ghz : cfg.clock_ghz;
  const double cycle_ns = 1.0 / clock_ghz;
  const int n_inf = std::max(1, s.inferences > 0 ? s.inferences : ctx.inferences);
  const uint64_t T = s.total_cycles;

  json r;
  r["schema"] = kSchemaVersion;
  r["cardsim_version"] = CARDSIM_VERSION;
  r["model"] = ctx.model_path;
  r["mode"] = ctx.mode.empty() ? s.mode : ctx.mode;
  r["inferences"] = n_inf;
  r["warm"] = ctx.warm;
  r["complete"] = res.complete && s.complete;
  if (!r["complete"].get<bool>()) r["error"] = res.error.empty() ? "run stopped (no message)" : res.error;
  r["config"] = cfg.effective.is_object() ? cfg.effective : json::object();
  json loadable = {{"isa_version", prog ? prog->isa_version : 0}, {"metadata", json::object()}};
  if (prog)
    for (const auto& [k, v] : prog->metadata) loadable["metadata"][k] = v;
  r["loadable"] = loadable;

  // ---- energy
  const EnergyBreakdown en = compute_energy(s, cfg, s.simulated_ns);

  // ---- layers: cycles attributed so that they sum to the window exactly
  const size_t L = s.layers.size();
  double window_start_ns = -1;
  for (const auto& ls : s.layers)
    if (ls.first_start_ns >= 0 && (window_start_ns < 0 || ls.first_start_ns < window_start_ns))
      window_start_ns = ls.first_start_ns;
  if (window_start_ns < 0) window_start_ns = 0;
  std::vector<std::pair<int64_t, int64_t>> spans(L);
  for (size_t i = 0; i < L; ++i) {
    const auto& ls = s.layers[i];
    if (ls.first_start_ns < 0) {
      spans[i] = {-1, -1};
    } else {
      spans[i] = {std::llround((ls.first_start_ns - window_start_ns) / cycle_ns),
                  std::llround((ls.last_end_ns - window_start_ns) / cycle_ns)};
    }
  }
  std::vector<uint64_t> cycles;
  std::string method;
  if (n_inf == 1) {
    cycles = attribute_cycles_by_span(spans, T);
    method = "span";
  } else {
    std::vector<uint64_t> w(L + 1, 0);
    for (size_t i = 0; i < L; ++i)
      for (uint64_t b : s.layers[i].busy_cycles) w[i] += b;
    cycles = distribute(T, w);
    method = "busy_share";
  }

  // Integer totals, and the "outside layers" row taking what no layer carries.
  auto sum_layers = [&](auto field) {
    uint64_t t = 0;
    for (const auto& ls : s.layers) t += field(ls);
    return t;
  };
  const uint64_t layer_rd = sum_layers([](const card::LayerStats& l) { return l.dram_read_bytes; });
  const uint64_t layer_wr = sum_layers([](const card::LayerStats& l) { return l.dram_write_bytes; });
  const uint64_t layer_macs = sum_layers([](const card::LayerStats& l) { return l.macs; });
  const uint64_t layer_vec = sum_layers([](const card::LayerStats& l) { return l.vector_elems; });
  // Totals: the layers' sums, at least the DRAM model's own count (what the layers miss —
  // model load, inputs, outputs, host operands — is the outside row's).
  const uint64_t dram_rd = std::max(s.dram.bytes_read, layer_rd);
  const uint64_t dram_wr = std::max(s.dram.bytes_written, layer_wr);
  const uint64_t macs = std::max(s.macs, layer_macs);
  const uint64_t vec = std::max(s.vector_elems, layer_vec);

  // Energy per layer: each component split by what drives it.
  std::vector<uint64_t> w_macs(L + 1), w_vec(L + 1), w_busy(L + 1), w_rd(L + 1), w_wr(L + 1), w_rw(L + 1),
      w_time(L + 1), w_none(L + 1, 0);
  for (size_t i = 0; i < L; ++i) {
    const auto& ls = s.layers[i];
    w_macs[i] = ls.macs;
    w_vec[i] = ls.vector_elems;
    for (uint64_t b : ls.busy_cycles) w_busy[i] += b;
    w_rd[i] = ls.dram_read_bytes;
    w_wr[i] = ls.dram_write_bytes;
    w_rw[i] = ls.dram_read_bytes + ls.dram_write_bytes;
    w_time[i] = cycles[i];
  }
  w_macs[L] = macs - layer_macs;
  w_vec[L] = vec - layer_vec;
  w_rd[L] = dram_rd - layer_rd;
  w_wr[L] = dram_wr - layer_wr;
  w_rw[L] = w_rd[L] + w_wr[L];
  const double outside_ns = std::max(0.0, s.simulated_ns - s.total_ns);
  w_time[L] = cycles[L] + uint64_t(std::llround(outside_ns / cycle_ns));
  auto weights_for = [&](const std::string& c) -> const std::vector<uint64_t>& {
    if (c == "matrix_unit") return w_macs;
    if (c == "vector_unit") return w_vec;
    if (c == "sram" || c == "accumulator" || c == "instruction_fetch") return w_busy;
    if (c == "dram_read") return w_rd;
    if (c == "dram_write") return w_wr;
    if (c == "dram_io" || c == "dram_activate") return w_rw;
    if (c == "dram_refresh" || c == "leakage") return w_time;
    return w_none;  // pcie, host: outside the card's layers
  };
  std::vector<uint64_t> layer_fj(L + 1, 0);
  for (const auto& [c, fj] : en.by_component_fj) {
    const auto share = distribute(fj, weights_for(c));
    for (size_t i = 0; i <= L; ++i) layer_fj[i] += share[i];
  }

  const MatrixUnitConfig& mx = cfg.matrix;
  const double pes = double(mx.rows) * double(mx.cols);
  const double dram_bytes_per_cycle = s.dram.peak_gbps / clock_ghz;
  json layers = json::array();
  for (size_t i = 0; i <= L; ++i) {
    json row;
    const bool outside = i == L;
    const isa::LayerInfo* info = (!outside && prog && i < prog->layers.size()) ? &prog->layers[i] : nullptr;
    const card::LayerStats empty;
    const card::LayerStats& ls = outside ? empty : s.layers[i];
    row["index"] = outside ? -1 : int64_t(i);
    row["name"] = outside ? std::string(kOutsideLayers) : ls.name;
    row["op"] = outside ? std::string("-") : ls.op;
    row["placement"] = outside ? std::string("none") : (info && !info->placement.empty() ? info->placement : "card");
    row["cycles"] = cycles[i];
    const bool ran = !outside && spans[i].first >= 0;
    row["start_cycle"] = ran ? spans[i].first : 0;
    row["end_cycle"] = ran ? spans[i].second : 0;
    row["macs"] = outside ? w_macs[L] : ls.macs;
    row["vector_elems"] = outside ? w_vec[L] : ls.vector_elems;
    row["dram_read_bytes"] = w_rd[i];
    row["dram_write_bytes"] = w_wr[i];
    json busy = json::object();
    for (size_t q = 0; q < ls.busy_cycles.size(); ++q) {
      const std::string qn = q < s.engines.size() && !s.engines[q].name.empty() ? s.engines[q].name : isa::queue_name(int(q));
      busy[qn] = ls.busy_cycles[q];
    }
    row["busy_cycles"] = busy;
    const uint64_t span = ran ? uint64_t(std::max<int64_t>(0, spans[i].second - spans[i].first)) : 0;
    const uint64_t ref = n_inf == 1 ? span : cycles[i];
    const double macs_i = double(outside ? w_macs[L] : ls.macs);
    row["mxu_utilization"] = ref > 0 && pes > 0 ? fixed(macs_i / (pes * double(ref))) : 0.0;
    row["bound"] = outside ? std::string("none") : bound_of(info, ls, ref, dram_bytes_per_cycle);
    row["energy_fj"] = layer_fj[i];
    row["energy_j"] = fixed(double(layer_fj[i]) * 1e-15);
    layers.push_back(row);
  }
  r["layers"] = layers;
  r["layer_cycles_method"] = method;

  // ---- totals
  const double window_s = s.total_ns * 1e-9;
  const double sim_s = s.simulated_ns * 1e-9;
  const double energy_j = double(en.total_fj) * 1e-15;
  json t;
  t["cycles"] = T;
  t["clock_ghz"] = fixed(clock_ghz);
  t["window_s"] = fixed(window_s);
  t["simulated_s"] = fixed(sim_s);
  t["latency_s"] = s.inference_latency_ns.empty() ? 0.0 : fixed(s.inference_latency_ns.front() * 1e-9);
  t["card_latency_s"] = s.inference_card_ns.empty() ? 0.0 : fixed(s.inference_card_ns.front() * 1e-9);
  t["throughput_inf_per_s"] = fixed(s.throughput_per_s);
  t["model_load_s"] = fixed(s.model_load_ns * 1e-9);
  t["macs"] = macs;
  t["vector_elems"] = vec;
  t["achieved_tops"] = window_s > 0 ? fixed(2.0 * double(macs) / window_s * 1e-12) : 0.0;
  t["peak_tops"] = fixed(2.0 * pes * clock_ghz * 1e9 * 1e-12);
  t["mxu_utilization"] = T > 0 && pes > 0 ? fixed(double(macs) / (pes * double(T))) : 0.0;
  t["energy_fj"] = en.total_fj;
  t["energy_j"] = fixed(energy_j);
  t["energy_per_inference_j"] = fixed(energy_j / n_inf);
  t["avg_power_w"] = sim_s > 0 ? fixed(energy_j / sim_s) : 0.0;
  t["tops_per_w"] = energy_j > 0 ? fixed(2.0 * double(macs) / energy_j * 1e-12) : 0.0;
  t["dram_read_bytes"] = dram_rd;
  t["dram_write_bytes"] = dram_wr;
  t["dram_requests"] = s.dram.requests;
  t["sram_read_bytes"] = s.memory.sram_read_bytes;
  t["sram_write_bytes"] = s.memory.sram_write_bytes;
  t["sram_bank_conflicts"] = s.memory.sram_bank_conflicts;
  t["acc_read_bytes"] = s.memory.acc_read_bytes;
  t["acc_write_bytes"] = s.memory.acc_write_bytes;
  t["pcie_h2d_bytes"] = s.pcie.h2d.payload_bytes;
  t["pcie_d2h_bytes"] = s.pcie.d2h.payload_bytes;
  t["pcie_h2d_wire_bytes"] = s.pcie.h2d.wire_bytes;
  t["pcie_d2h_wire_bytes"] = s.pcie.d2h.wire_bytes;
  t["instruction_fetch_bytes"] = s.instruction_fetch_bytes;
  t["host_ops"] = s.host_ops;
  uint64_t instrs = 0;
  for (const auto& e : s.engines) instrs += e.instructions;
  t["instructions"] = instrs;
  r["total"] = t;

  // ---- bandwidth (averages over the simulated time; peaks are the hardware's)
  auto gbps = [&](double bytes) { return sim_s > 0 ? fixed(bytes / sim_s * 1e-9) : 0.0; };
  json bw;
  json chans = json::array();
  const double chan_peak = s.dram.channels.empty() ? 0 : s.dram.peak_gbps / double(s.dram.channels.size());
  for (size_t c = 0; c < s.dram.channels.size(); ++c) {
    const auto& ch = s.dram.channels[c];
    chans.push_back({{"channel", c},
                     {"read_bytes", ch.bytes_read},
                     {"write_bytes", ch.bytes_written},
                     {"avg_gbps", gbps(double(ch.bytes_read + ch.bytes_written))},
                     {"peak_gbps", fixed(chan_peak)},
                     {"busy_fraction", sim_s > 0 ? fixed(ch.busy_ns / s.simulated_ns) : 0.0},
                     {"activates", ch.activates},
                     {"refreshes", ch.refreshes},
                     {"row_hits", ch.row_hits},
                     {"row_misses", ch.row_misses},
                     {"row_conflicts", ch.row_conflicts}});
  }
  bw["dram_channels"] = chans;
  bw["dram"] = {{"avg_gbps", gbps(double(s.dram.bytes_read + s.dram.bytes_written))}, {"peak_gbps", fixed(s.dram.peak_gbps)}};
  const double sram_peak = double(cfg.sram.banks) * cfg.sram.bank_width_bytes * cfg.sram.ports * clock_ghz;
  bw["sram"] = {{"avg_gbps", gbps(double(s.memory.sram_read_bytes + s.memory.sram_write_bytes))},
                {"peak_gbps", fixed(sram_peak)}};
  const double pp = pcie_peak_gbps(cfg);
  bw["pcie"] = {{"h2d", {{"avg_gbps", gbps(double(s.pcie.h2d.payload_bytes))}, {"peak_gbps", fixed(pp)},
                         {"busy_fraction", sim_s > 0 ? fixed(s.pcie.h2d.busy_ns / s.simulated_ns) : 0.0}}},
                {"d2h", {{"avg_gbps", gbps(double(s.pcie.d2h.payload_bytes))}, {"peak_gbps", fixed(pp)},
                         {"busy_fraction", sim_s > 0 ? fixed(s.pcie.d2h.busy_ns / s.simulated_ns) : 0.0}}}};
  r["bandwidth"] = bw;

  // ---- engines
  json engines = json::object();
  for (size_t q = 0; q < s.engines.size(); ++q) {
    const auto& e = s.engines[q];
    const std::string name = e.name.empty() ? isa::queue_name(int(q)) : e.name;
    engines[name] = {{"queue", q},
                     {"instructions", e.instructions},
                     {"busy_cycles", e.busy_cycles},
                     {"stalled_memory_cycles", e.mem_stall_cycles},
                     {"stalled_sync_cycles", e.sync_stall_cycles},
                     {"idle_cycles", e.idle_cycles},
                     {"utilization", T > 0 ? fixed(double(e.busy_cycles) / double(T)) : 0.0},
                     {"opcode_counts", e.opcode_counts}};
  }
  r["engines"] = engines;

  // ---- energy
  json ej;
  json byc = json::object();
  for (const auto& [c, fj] : en.by_component_fj) byc[c] = {{"energy_fj", fj}, {"energy_j", fixed(double(fj) * 1e-15)}};
  json bya = json::object();
  for (const auto& [a, ae] : en.by_action)
    bya[a] = {{"component", ae.component}, {"count", ae.count}, {"pj_each", fixed(ae.pj_each)},
              {"energy_fj", ae.energy_fj}, {"energy_j", fixed(double(ae.energy_fj) * 1e-15)}};
  ej["by_component"] = byc;
  ej["by_action"] = bya;
  ej["total_fj"] = en.total_fj;
  ej["total_j"] = fixed(energy_j);
  ej["technology_nm"] = fixed(cfg.energy.technology_nm);
  ej["voltage"] = fixed(cfg.energy.voltage);
  r["energy"] = ej;

  r["latency_histograms"] = {{"dram_request_ns", histogram_json(s.dram.latency_samples_ns)},
                             {"pcie_transfer_ns", histogram_json(s.pcie.transfer_latency_ns)}};
  return r;
}

namespace {

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::Io, "{}: cannot open for writing", tmp);
    out << text;
    out.flush();
    if (!out) fail(ErrorKind::Io, "{}: write failed (disk full?)", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(ErrorKind::Io, "{}: cannot rename {} onto it", path, tmp);
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace

std::string report_to_string(const json& report) { return report.dump(2) + "\n"; }

void write_report_json(const json& report, const std::string& path) { write_atomically(path, report_to_string(report)); }

std::string layers_csv(const json& report) {
  std::string out =
      "index,name,op,placement,bound,start_cycle,end_cycle,cycles,macs,mxu_utilization,dram_read_bytes,"
      "dram_write_bytes,energy_j\n";
  for (const json& l : report.at("layers")) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\n", l.at("index").get<int64_t>(),
                       csv_field(l.at("name").get<std::string>()), csv_field(l.at("op").get<std::string>()),
                       l.at("placement").get<std::string>(), l.at("bound").get<std::string>(),
                       l.at("start_cycle").get<int64_t>(), l.at("end_cycle").get<int64_t>(),
                       l.at("cycles").get<uint64_t>(), l.at("macs").get<uint64_t>(),
                       l.at("mxu_utilization").dump(), l.at("dram_read_bytes").get<uint64_t>(),
                       l.at("dram_write_bytes").get<uint64_t>(), l.at("energy_j").dump());
  }
  return out;
}

void write_layers_csv(const json& report, const std::string& path) { write_atomically(path, layers_csv(report)); }

}  // namespace cardsim::report
