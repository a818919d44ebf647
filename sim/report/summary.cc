// terminal_summary: the readable table `cardsim run` prints. Plain text (no colour codes), so
// it reads the same in a terminal, a log file and CI.
#include <algorithm>

#include <fmt/format.h>

#include "sim/report/report.h"
#include "sim/report/report_detail.h"

namespace cardsim::report {

using json = nlohmann::json;

namespace {

std::string si(double x, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  double a = std::abs(x);
  while (a >= 1000 && p < 5) a /= 1000, x /= 1000, ++p;
  return fmt::format("{:.3g} {}{}", x, prefixes[p], unit);
}

std::string seconds(double s) {
  if (s == 0) return "0 s";
  if (s < 1e-6) return fmt::format("{:.3g} ns", s * 1e9);
  if (s < 1e-3) return fmt::format("{:.3g} us", s * 1e6);
  if (s < 1) return fmt::format("{:.3g} ms", s * 1e3);
  return fmt::format("{:.3g} s", s);
}

std::string joules(double j) {
  if (j == 0) return "0 J";
  if (j < 1e-9) return fmt::format("{:.3g} pJ", j * 1e12);
  if (j < 1e-6) return fmt::format("{:.3g} nJ", j * 1e9);
  if (j < 1e-3) return fmt::format("{:.3g} uJ", j * 1e6);
  if (j < 1) return fmt::format("{:.3g} mJ", j * 1e3);
  return fmt::format("{:.3g} J", j);
}

std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "~"; }

}  // namespace

std::string terminal_summary(const json& r) {
  const json& t = r.at("total");
  std::string o;
  o += fmt::format("cardsim {} | {} | mode {} | {} inference(s){}\n", r.value("cardsim_version", "?"),
                   r.value("model", ""), r.value("mode", ""), r.value("inferences", 1), r.value("warm", false) ? " | warm" : "");
  if (!r.value("complete", true)) o += fmt::format("INCOMPLETE RUN (partial statistics): {}\n", r.value("error", ""));
  const double clock = t.value("clock_ghz", 1.0);
  o += fmt::format("total      {} cycles @ {} GHz = {} | latency {} | throughput {:.4g} inf/s | model load {}\n",
                   t.at("cycles").get<uint64_t>(), clock, seconds(t.value("window_s", 0.0)), seconds(t.value("latency_s", 0.0)),
                   t.value("throughput_inf_per_s", 0.0), seconds(t.value("model_load_s", 0.0)));
  o += fmt::format("compute    {} MACs | {:.4g} of {:.4g} TOPS ({:.1f} % of the matrix unit)\n",
                   si(double(t.at("macs").get<uint64_t>()), ""), t.value("achieved_tops", 0.0), t.value("peak_tops", 0.0),
                   100 * t.value("mxu_utilization", 0.0));
  o += fmt::format("energy     {} ({} per inference) | avg power {:.4g} W | {:.4g} TOPS/W\n", joules(t.value("energy_j", 0.0)),
                   joules(t.value("energy_per_inference_j", 0.0)), t.value("avg_power_w", 0.0), t.value("tops_per_w", 0.0));
  o += fmt::format("traffic    DRAM rd {} wr {} | SRAM rd {} wr {} | PCIe h2d {} d2h {}\n",
                   si(double(t.value("dram_read_bytes", uint64_t(0))), "B"), si(double(t.value("dram_write_bytes", uint64_t(0))), "B"),
                   si(double(t.value("sram_read_bytes", uint64_t(0))), "B"), si(double(t.value("sram_write_bytes", uint64_t(0))), "B"),
                   si(double(t.value("pcie_h2d_bytes", uint64_t(0))), "B"), si(double(t.value("pcie_d2h_bytes", uint64_t(0))), "B"));

  const json& bw = r.at("bandwidth");
  o += fmt::format("bandwidth  DRAM {:.3g}/{:.3g} GB/s | SRAM {:.3g}/{:.3g} GB/s | PCIe h2d {:.3g}/{:.3g} d2h {:.3g}/{:.3g} GB/s (avg/peak)\n",
                   bw.at("dram").value("avg_gbps", 0.0), bw.at("dram").value("peak_gbps", 0.0), bw.at("sram").value("avg_gbps", 0.0),
                   bw.at("sram").value("peak_gbps", 0.0), bw.at("pcie").at("h2d").value("avg_gbps", 0.0),
                   bw.at("pcie").at("h2d").value("peak_gbps", 0.0), bw.at("pcie").at("d2h").value("avg_gbps", 0.0),
                   bw.at("pcie").at("d2h").value("peak_gbps", 0.0));

  // Engines, in queue order.
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [name, e] : r.at("engines").items()) order.push_back({e.value("queue", int64_t(0)), name});
  std::sort(order.begin(), order.end());
  const double cycles = double(std::max<uint64_t>(1, t.at("cycles").get<uint64_t>()));
  o += "\nengine     instrs     busy %   mem-stall %  sync-stall %   idle %\n";
  for (const auto& [q, name] : order) {
    const json& e = r.at("engines").at(name);
    auto pct = [&](const char* k) { return 100.0 * double(e.at(k).get<uint64_t>()) / cycles; };
    o += fmt::format("{:<8} {:>8} {:>10.1f} {:>12.1f} {:>13.1f} {:>8.1f}\n", name, e.at("instructions").get<uint64_t>(),
                     pct("busy_cycles"), pct("stalled_memory_cycles"), pct("stalled_sync_cycles"), pct("idle_cycles"));
  }

  // Top layers by cycles.
  std::vector<const json*> layers;
  for (const json& l : r.at("layers")) layers.push_back(&l);
  std::stable_sort(layers.begin(), layers.end(), [](const json* a, const json* b) {
    return a->at("cycles").get<uint64_t>() > b->at("cycles").get<uint64_t>();
  });
  o += fmt::format("\ntop layers by cycles ({} of {})\n", std::min<size_t>(10, layers.size()), layers.size());
  o += "layer                            op              cycles      %    mxu %   bound     energy\n";
  for (size_t i = 0; i < layers.size() && i < 10; ++i) {
    const json& l = *layers[i];
    const uint64_t c = l.at("cycles").get<uint64_t>();
    o += fmt::format("{:<32} {:<12} {:>10} {:>6.1f} {:>8.1f}   {:<8} {:>10}\n", clip(l.at("name").get<std::string>(), 32),
                     clip(l.at("op").get<std::string>(), 12), c, 100.0 * double(c) / cycles,
                     100.0 * l.value("mxu_utilization", 0.0), l.at("bound").get<std::string>(), joules(l.value("energy_j", 0.0)));
  }

  // Energy by component, largest first (zeros left out).
  std::vector<std::pair<uint64_t, std::string>> comps;
  for (const auto& [name, c] : r.at("energy").at("by_component").items())
    if (c.at("energy_fj").get<uint64_t>() > 0) comps.push_back({c.at("energy_fj").get<uint64_t>(), name});
  std::stable_sort(comps.begin(), comps.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const double total_fj = double(std::max<uint64_t>(1, t.at("energy_fj").get<uint64_t>()));
  o += "\nenergy by component\n";
  for (const auto& [fj, name] : comps)
    o += fmt::format("  {:<20} {:>10} {:>6.1f} %\n", name, joules(double(fj) * 1e-15), 100.0 * double(fj) / total_fj);
  return o;
}

}  // namespace cardsim::report
