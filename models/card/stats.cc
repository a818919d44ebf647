#include "models/card/stats.h"

#include <algorithm>
#include <cmath>

namespace cardsim::card {

namespace {

nlohmann::json summary(std::vector<double> v) {
  nlohmann::json j;
  j["count"] = v.size();
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  auto pct = [&](double p) { return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))]; };
  j["mean"] = sum / double(v.size());
  j["min"] = v.front();
  j["p50"] = pct(0.5);
  j["p99"] = pct(0.99);
  j["max"] = v.back();
  return j;
}

}  // namespace

nlohmann::json RunStats::to_json() const {
  using nlohmann::json;
  json j;
  j["mode"] = mode;
  j["complete"] = complete;
  j["clock_ghz"] = clock_ghz;
  j["total_cycles"] = total_cycles;
  j["total_ns"] = total_ns;
  j["simulated_ns"] = simulated_ns;
  j["model_load_ns"] = model_load_ns;
  j["inferences"] = inferences;
  j["inference_latency_ns"] = inference_latency_ns;
  j["inference_card_ns"] = inference_card_ns;
  j["throughput_per_s"] = throughput_per_s;
  j["macs"] = macs;
  j["vector_elems"] = vector_elems;
  j["macs_by_type"] = macs_by_type;
  j["vector_elems_by_fn"] = vector_elems_by_fn;
  j["instruction_fetch_bytes"] = instruction_fetch_bytes;
  j["host_ops"] = host_ops;
  json eng = json::array();
  for (const auto& e : engines)
    eng.push_back({{"name", e.name},
                   {"instructions", e.instructions},
                   {"busy_cycles", e.busy_cycles},
                   {"mem_stall_cycles", e.mem_stall_cycles},
                   {"sync_stall_cycles", e.sync_stall_cycles},
                   {"idle_cycles", e.idle_cycles},
                   {"fetch_bytes", e.fetch_bytes},
                   {"opcode_counts", e.opcode_counts}});
  j["engines"] = eng;
  json lay = json::array();
  for (const auto& l : layers)
    lay.push_back({{"name", l.name},
                   {"op", l.op},
                   {"first_start_ns", l.first_start_ns},
                   {"last_end_ns", l.last_end_ns},
                   {"macs", l.macs},
                   {"vector_elems", l.vector_elems},
                   {"dram_read_bytes", l.dram_read_bytes},
                   {"dram_write_bytes", l.dram_write_bytes},
                   {"busy_cycles", l.busy_cycles}});
  j["layers"] = lay;
  json ch = json::array();
  for (const auto& c : dram.channels)
    ch.push_back({{"reads", c.reads}, {"writes", c.writes}, {"activates", c.activates},
                  {"precharges", c.precharges}, {"refreshes", c.refreshes}, {"row_hits", c.row_hits},
                  {"row_misses", c.row_misses}, {"row_conflicts", c.row_conflicts},
                  {"bytes_read", c.bytes_read}, {"bytes_written", c.bytes_written}, {"busy_ns", c.busy_ns}});
  j["dram"] = {{"requests", dram.requests},
               {"bytes_read", dram.bytes_read},
               {"bytes_written", dram.bytes_written},
               {"peak_gbps", dram.peak_gbps},
               {"channels", ch},
               {"latency_ns", summary(dram.latency_samples_ns)}};
  auto dir = [](const PcieRunStats::Dir& d) {
    return json{{"payload_bytes", d.payload_bytes}, {"wire_bytes", d.wire_bytes}, {"tlps", d.tlps}, {"busy_ns", d.busy_ns}};
  };
  j["pcie"] = {{"h2d", dir(pcie.h2d)}, {"d2h", dir(pcie.d2h)}, {"transfer_latency_ns", summary(pcie.transfer_latency_ns)}};
  j["memory"] = {{"sram_read_bytes", memory.sram_read_bytes},   {"sram_write_bytes", memory.sram_write_bytes},
                 {"sram_bank_conflicts", memory.sram_bank_conflicts}, {"acc_read_bytes", memory.acc_read_bytes},
                 {"acc_write_bytes", memory.acc_write_bytes}, {"acc_bank_conflicts", memory.acc_bank_conflicts}};
  return j;
}

RunStats RunStats::from_json(const nlohmann::json& j) {
  RunStats s;
  s.mode = j.value("mode", "");
  s.complete = j.value("complete", true);
  s.clock_ghz = j.value("clock_ghz", 1.0);
  s.total_cycles = j.value("total_cycles", uint64_t(0));
  s.total_ns = j.value("total_ns", 0.0);
  s.simulated_ns = j.value("simulated_ns", 0.0);
  s.model_load_ns = j.value("model_load_ns", 0.0);
  s.inferences = j.value("inferences", 0);
  s.inference_latency_ns = j.value("inference_latency_ns", std::vector<double>{});
  s.inference_card_ns = j.value("inference_card_ns", std::vector<double>{});
  s.throughput_per_s = j.value("throughput_per_s", 0.0);
  s.macs = j.value("macs", uint64_t(0));
  s.vector_elems = j.value("vector_elems", uint64_t(0));
  s.macs_by_type = j.value("macs_by_type", std::map<std::string, uint64_t>{});
  s.vector_elems_by_fn = j.value("vector_elems_by_fn", std::map<std::string, uint64_t>{});
  s.instruction_fetch_bytes = j.value("instruction_fetch_bytes", uint64_t(0));
  s.host_ops = j.value("host_ops", uint64_t(0));
  for (const auto& e : j.value("engines", nlohmann::json::array())) {
    EngineStats es;
    es.name = e.value("name", "");
    es.instructions = e.value("instructions", uint64_t(0));
    es.busy_cycles = e.value("busy_cycles", uint64_t(0));
    es.mem_stall_cycles = e.value("mem_stall_cycles", uint64_t(0));
    es.sync_stall_cycles = e.value("sync_stall_cycles", uint64_t(0));
    es.idle_cycles = e.value("idle_cycles", uint64_t(0));
    es.fetch_bytes = e.value("fetch_bytes", uint64_t(0));
    es.opcode_counts = e.value("opcode_counts", std::map<std::string, uint64_t>{});
    s.engines.push_back(es);
  }
  for (const auto& l : j.value("layers", nlohmann::json::array())) {
    LayerStats ls;
    ls.name = l.value("name", "");
    ls.op = l.value("op", "");
    ls.first_start_ns = l.value("first_start_ns", -1.0);
    ls.last_end_ns = l.value("last_end_ns", 0.0);
    ls.macs = l.value("macs", uint64_t(0));
    ls.vector_elems = l.value("vector_elems", uint64_t(0));
    ls.dram_read_bytes = l.value("dram_read_bytes", uint64_t(0));
    ls.dram_write_bytes = l.value("dram_write_bytes", uint64_t(0));
    ls.busy_cycles = l.value("busy_cycles", std::vector<uint64_t>{});
    s.layers.push_back(ls);
  }
  if (j.contains("dram")) {
    const auto& d = j["dram"];
    s.dram.requests = d.value("requests", uint64_t(0));
    s.dram.bytes_read = d.value("bytes_read", uint64_t(0));
    s.dram.bytes_written = d.value("bytes_written", uint64_t(0));
    s.dram.peak_gbps = d.value("peak_gbps", 0.0);
    for (const auto& c : d.value("channels", nlohmann::json::array())) {
      DramRunStats::Channel ch;
      ch.reads = c.value("reads", uint64_t(0)); ch.writes = c.value("writes", uint64_t(0));
      ch.activates = c.value("activates", uint64_t(0)); ch.precharges = c.value("precharges", uint64_t(0));
      ch.refreshes = c.value("refreshes", uint64_t(0)); ch.row_hits = c.value("row_hits", uint64_t(0));
      ch.row_misses = c.value("row_misses", uint64_t(0)); ch.row_conflicts = c.value("row_conflicts", uint64_t(0));
      ch.bytes_read = c.value("bytes_read", uint64_t(0)); ch.bytes_written = c.value("bytes_written", uint64_t(0));
      ch.busy_ns = c.value("busy_ns", 0.0);
      s.dram.channels.push_back(ch);
    }
  }
  if (j.contains("pcie")) {
    auto dir = [](const nlohmann::json& d) {
      PcieRunStats::Dir r;
      r.payload_bytes = d.value("payload_bytes", uint64_t(0));
      r.wire_bytes = d.value("wire_bytes", uint64_t(0));
      r.tlps = d.value("tlps", uint64_t(0));
      r.busy_ns = d.value("busy_ns", 0.0);
      return r;
    };
    s.pcie.h2d = dir(j["pcie"].value("h2d", nlohmann::json::object()));
    s.pcie.d2h = dir(j["pcie"].value("d2h", nlohmann::json::object()));
  }
  if (j.contains("memory")) {
    const auto& m = j["memory"];
    s.memory.sram_read_bytes = m.value("sram_read_bytes", uint64_t(0));
    s.memory.sram_write_bytes = m.value("sram_write_bytes", uint64_t(0));
    s.memory.sram_bank_conflicts = m.value("sram_bank_conflicts", uint64_t(0));
    s.memory.acc_read_bytes = m.value("acc_read_bytes", uint64_t(0));
    s.memory.acc_write_bytes = m.value("acc_write_bytes", uint64_t(0));
    s.memory.acc_bank_conflicts = m.value("acc_bank_conflicts", uint64_t(0));
  }
  return s;
}

}  // namespace cardsim::card
