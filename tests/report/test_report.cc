// The report and the energy model: hand-calculated energies, exact per-layer sums, schema
// validation of every report built here, determinism, rejection of broken reports.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "models/card/card.h"
#include "sim/report/energy.h"
#include "sim/report/report.h"
#include "sim/report/report_detail.h"

using namespace cardsim;
using nlohmann::json;

namespace {

// Round, hand-checkable per-action energies (pJ) — not the config's derived defaults.
CardConfig hand_config() {
  CardConfig cfg;
  cfg.pcie.latency_ns = 0;
  cfg.energy.actions_pj = {{"mac_i8", 0.5},       {"mac_f16", 1},        {"mac_bf16", 1},     {"mac_f32", 4},
                           {"add_i8", 0.03},      {"mul_i8", 0.2},       {"add_i32", 0.1},    {"mul_i32", 3},
                           {"add_f16", 0.4},      {"mul_f16", 1.1},      {"add_bf16", 0.4},   {"mul_bf16", 1.1},
                           {"add_f32", 1},        {"mul_f32", 4},        {"sram_read_64b", 10}, {"sram_write_64b", 12},
                           {"acc_read_64b", 5},   {"acc_write_64b", 6},  {"lut_read", 2}};
  cfg.energy.leakage_mw = {{"matrix", 100}, {"sram", 50}};
  cfg.energy.dram_pj_per_bit = 4;
  cfg.energy.pcie_pj_per_bit = 6;
  cfg.effective = json::object();
  return cfg;
}

// Every report the tests build is validated against the schema (and written out, so the
// files can be re-checked with report_validate).
json checked(const json& r, const std::string& name) {
  report::validate_report(r);
  const char* env = std::getenv("CARDSIM_REPORT_DIR");
  const auto dir = env ? std::filesystem::path(env) : std::filesystem::temp_directory_path() / "cardsim_test_reports";
  std::filesystem::create_directories(dir);
  report::write_report_json(r, (dir / (name + ".json")).string());
  return r;
}

card::RunResult synthetic_result() {
  card::RunResult res;
  card::RunStats& s = res.stats;
  s.mode = "timing";
  s.clock_ghz = 1.0;
  s.total_cycles = 1000;
  s.total_ns = 1000;
  s.simulated_ns = 3000;
  s.model_load_ns = 1500;
  s.inferences = 1;
  s.inference_latency_ns = {1400};
  s.inference_card_ns = {1000};
  s.throughput_per_s = 1e9 / 1400;
  s.macs = 3000;
  s.vector_elems = 500;
  s.macs_by_type = {{"i8", 3000}};
  s.vector_elems_by_fn = {{"relu", 400}, {"requant", 100}};
  s.instruction_fetch_bytes = 160;
  for (const char* n : {"mxu", "vpu", "dma0"}) {
    card::EngineStats e;
    e.name = n;
    e.instructions = 5;
    e.busy_cycles = 300;
    e.idle_cycles = 700;
    s.engines.push_back(e);
  }
  auto layer = [](const char* name, const char* op, double a, double b, uint64_t macs, uint64_t rd, uint64_t wr) {
    card::LayerStats l;
    l.name = name;
    l.op = op;
    l.first_start_ns = a;
    l.last_end_ns = b;
    l.macs = macs;
    l.dram_read_bytes = rd;
    l.dram_write_bytes = wr;
    l.busy_cycles = {macs / 10, 0, rd / 64};
    return l;
  };
  // Window starts at the first layer (2000 ns); conv1 overlaps conv2's start (pipelining).
  s.layers.push_back(layer("conv1", "Conv", 2000, 2400, 1000, 4096, 0));
  s.layers.push_back(layer("conv2", "Conv", 2300, 2900, 2000, 8192, 1024));
  s.layers.push_back(layer("relu", "Relu", 2950, 2990, 0, 0, 0));
  s.layers[2].vector_elems = 500;
  s.layers[2].busy_cycles = {0, 40, 0};
  s.layers[1].busy_cycles = {100, 0, 500};
  s.dram.bytes_read = 20000;  // more than the layers: model load, inputs
  s.dram.bytes_written = 1024;
  s.dram.peak_gbps = 400;
  card::DramRunStats::Channel ch;
  ch.bytes_read = 20000;
  ch.bytes_written = 1024;
  ch.activates = 10;
  ch.refreshes = 1;
  s.dram.channels = {ch};
  s.dram.latency_samples_ns = {10, 20, 30, 40, 50, 60, 70, 80, 90, 1000};
  s.dram.requests = 10;
  s.pcie.h2d.payload_bytes = 1000;
  s.pcie.h2d.wire_bytes = 1100;
  s.pcie.transfer_latency_ns = {500, 700};
  s.memory.sram_read_bytes = 800;
  s.memory.sram_write_bytes = 80;
  s.memory.acc_read_bytes = 16;
  s.memory.acc_write_bytes = 24;
  return res;
}

}  // namespace

TEST(Energy, HandCalculationOfEveryActionClass) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  const auto e = report::compute_energy(res.stats, cfg, 3000);
  // By hand, in pJ:
  const double mac = 3000 * 0.5;                          // 1500
  const double vec = 400 * 1.0 + 100 * (3 + 0.1);         // relu = add_f32; requant = mul_i32 + add_i32 -> 710
  const double sram = 100 * 10 + 10 * 12;                 // 800 B = 100 reads, 80 B = 10 writes -> 1120
  const double acc = 2 * 5 + 3 * 6;                       // 28
  const double fetch = 20 * 10;                           // 160 B of code = 20 SRAM reads
  const double rd_bits = 20000 * 8, wr_bits = 1024 * 8;
  const double act = 10 * 0.2 * 4 * 1024 * 8;             // 20 % of 4 pJ/bit × row bits (1024 B) per ACT
  const double ref = 1 * 0.2 * 4 * 1024 * 8 * 16;         // one ACT per bank (1 rank × 4 × 4 banks)
  const double dram_rd = rd_bits * 0.5 * 4, dram_wr = wr_bits * 0.5 * 4, io = (rd_bits + wr_bits) * 0.3 * 4;
  const double pcie = 1100 * 8 * 2 * 6.0;                 // wire bits × both ends
  const double leak = (100 + 50) * 3000;                  // mW × ns = pJ
  EXPECT_EQ(e.by_component_fj.at("matrix_unit"), uint64_t(mac * 1000));
  EXPECT_EQ(e.by_component_fj.at("vector_unit"), uint64_t(std::llround(vec * 1000)));
  EXPECT_EQ(e.by_component_fj.at("sram"), uint64_t(sram * 1000));
  EXPECT_EQ(e.by_component_fj.at("accumulator"), uint64_t(acc * 1000));
  EXPECT_EQ(e.by_component_fj.at("instruction_fetch"), uint64_t(fetch * 1000));
  EXPECT_EQ(e.by_component_fj.at("dram_activate"), uint64_t(std::llround(act * 1000)));
  EXPECT_EQ(e.by_component_fj.at("dram_refresh"), uint64_t(std::llround(ref * 1000)));
  EXPECT_EQ(e.by_component_fj.at("dram_read"), uint64_t(dram_rd * 1000));
  EXPECT_EQ(e.by_component_fj.at("dram_write"), uint64_t(dram_wr * 1000));
  EXPECT_EQ(e.by_component_fj.at("dram_io"), uint64_t(std::llround(io * 1000)));
  EXPECT_EQ(e.by_component_fj.at("pcie"), uint64_t(pcie * 1000));
  EXPECT_EQ(e.by_component_fj.at("leakage"), uint64_t(leak * 1000));
  EXPECT_EQ(e.by_component_fj.at("host"), 0u);
  const double total = mac + vec + sram + acc + fetch + act + ref + dram_rd + dram_wr + io + pcie + leak;
  EXPECT_NEAR(double(e.total_fj), total * 1000, 5);
  // A page-sequential stream costs exactly the configured pJ/bit: one ACT per row of data.
  card::RunStats seq;
  card::DramRunStats::Channel c;
  c.bytes_read = 1024 * 100;
  c.activates = 100;
  seq.dram.channels = {c};
  const auto es = report::compute_energy(seq, cfg, 0);
  EXPECT_EQ(es.total_fj, uint64_t(1024 * 100 * 8 * 4.0 * 1000));
}

TEST(Energy, MissingActionIsAConfigError) {
  CardConfig cfg = hand_config();
  cfg.energy.actions_pj.erase("mac_i8");
  auto res = synthetic_result();
  try {
    report::compute_energy(res.stats, cfg, 0);
    FAIL() << "expected Error(Config)";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("mac_i8"), std::string::npos);
  }
}

TEST(ReportParts, DistributeIsExactAndProportional) {
  EXPECT_EQ(report::distribute(10, {1, 1, 1}), (std::vector<uint64_t>{4, 3, 3}));  // tie: lower index
  EXPECT_EQ(report::distribute(100, {1, 3, 0, 6}), (std::vector<uint64_t>{10, 30, 0, 60}));
  EXPECT_EQ(report::distribute(7, {0, 0}), (std::vector<uint64_t>{0, 7}));
  const auto big = report::distribute(uint64_t(1) << 62, {3, 5, 7, 11});
  uint64_t sum = 0;
  for (auto v : big) sum += v;
  EXPECT_EQ(sum, uint64_t(1) << 62);
}

TEST(ReportParts, SpanAttributionByHand) {
  // [0,40) [30,90) [95,99) in a 100-cycle window: the newest running layer owns a cycle.
  const auto c = report::attribute_cycles_by_span({{0, 40}, {30, 90}, {95, 99}, {-1, -1}}, 100);
  EXPECT_EQ(c, (std::vector<uint64_t>{30, 60, 4, 0, 6}));  // last: idle 90..95 and 99..100
}

TEST(ReportParts, HistogramPercentilesByHand) {
  const json h = report::histogram_json({10, 20, 30, 40, 50, 60, 70, 80, 90, 1000});
  EXPECT_EQ(h["count"], 10);
  EXPECT_EQ(h["p50"], 50.0);   // nearest rank: ceil(0.5 × 10) = 5th
  EXPECT_EQ(h["p90"], 90.0);
  EXPECT_EQ(h["p99"], 1000.0);
  EXPECT_EQ(h["max"], 1000.0);
  uint64_t n = 0;
  for (auto& c : h["counts"]) n += c.get<uint64_t>();
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(h["edges"].size(), h["counts"].size() + 1);
}

TEST(Report, SyntheticRunSumsExactlyAndValidates) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  isa::Program prog;
  prog.layers = {{"conv1", "Conv", 1000, "card"}, {"conv2", "Conv", 2000, "card"}, {"relu", "Relu", 0, "card"}};
  prog.metadata = {{"model_sha256", "ab"}, {"precision", "int8"}};
  report::Context ctx{&prog, &cfg, &res, "m.onnx", "timing", 1, false};
  const json r = checked(report::build_report(ctx), "synthetic");
  EXPECT_EQ(r["schema"], "cardsim-report/1");
  EXPECT_EQ(r["loadable"]["metadata"]["precision"], "int8");
  const json& L = r["layers"];
  ASSERT_EQ(L.size(), 4u);
  // Span attribution (cycles from the first layer's start, 2000 ns): conv1 0..300 (conv2 takes
  // over at 300), conv2 300..900, gap 900..950, relu 950..990, idle 990..1000.
  EXPECT_EQ(L[0]["cycles"], 300);
  EXPECT_EQ(L[1]["cycles"], 600);
  EXPECT_EQ(L[2]["cycles"], 40);
  EXPECT_EQ(L[3]["cycles"], 60);
  EXPECT_EQ(L[3]["name"], "(outside layers)");
  EXPECT_EQ(L[3]["dram_read_bytes"], 20000 - 4096 - 8192);
  // Bounds by hand: conv1 mxu 100 / dma 64 busy in a 400-cycle span (< half) -> sync;
  // conv2 dma 500 > mxu 100, with DRAM bytes -> dram; relu vpu 40 of 40 -> compute.
  EXPECT_EQ(L[0]["bound"], "sync");
  EXPECT_EQ(L[1]["bound"], "dram");
  EXPECT_EQ(L[2]["bound"], "compute");
  EXPECT_EQ(L[3]["bound"], "none");
  uint64_t fj = 0, cycles = 0;
  double joules = 0;
  for (const auto& l : L) fj += l["energy_fj"].get<uint64_t>(), cycles += l["cycles"].get<uint64_t>(), joules += l["energy_j"].get<double>();
  EXPECT_EQ(fj, r["total"]["energy_fj"].get<uint64_t>());
  EXPECT_EQ(cycles, 1000u);
  EXPECT_NEAR(joules, r["total"]["energy_j"].get<double>(), 1e-9 * r["total"]["energy_j"].get<double>());
  // MAC energy follows the MACs: conv1 gets 1/3 of 1500 pJ, conv2 2/3, relu none of it.
  EXPECT_EQ(r["energy"]["by_component"]["matrix_unit"]["energy_fj"], 1500000);
  // Totals by hand.
  EXPECT_EQ(r["total"]["peak_tops"], 2.0 * 128 * 128 * 1e9 * 1e-12);
  EXPECT_DOUBLE_EQ(r["total"]["achieved_tops"].get<double>(), 2.0 * 3000 / 1e-6 * 1e-12);
  EXPECT_DOUBLE_EQ(r["total"]["latency_s"].get<double>(), 1.4e-6);
  EXPECT_EQ(r["total"]["dram_read_bytes"], 20000);
  EXPECT_EQ(r["engines"]["mxu"]["busy_cycles"], 300);
  EXPECT_EQ(r["latency_histograms"]["dram_request_ns"]["p50"], 50.0);
}

TEST(Report, DeterministicBytes) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  report::Context ctx{nullptr, &cfg, &res, "m.onnx", "timing", 1, false};
  const std::string a = report::report_to_string(report::build_report(ctx));
  const std::string b = report::report_to_string(report::build_report(ctx));
  EXPECT_EQ(a, b);
  EXPECT_EQ(report::layers_csv(report::build_report(ctx)), report::layers_csv(json::parse(a)));
}

TEST(Report, ManyInferencesUseBusyShares) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  res.stats.inferences = 4;
  report::Context ctx{nullptr, &cfg, &res, "m.onnx", "timing", 4, false};
  const json r = checked(report::build_report(ctx), "four_inferences");
  EXPECT_EQ(r["layer_cycles_method"], "busy_share");
  // Busy sums: conv1 164, conv2 600, relu 40 of 804 -> 1000 cycles = 203.98 / 746.27 / 49.75;
  // floors 203 + 746 + 49 = 998, the 2 left go to the largest remainders (conv1, relu).
  EXPECT_EQ(r["layers"][0]["cycles"], 204);
  EXPECT_EQ(r["layers"][1]["cycles"], 746);
  EXPECT_EQ(r["layers"][2]["cycles"], 50);
  EXPECT_EQ(r["layers"][3]["cycles"], 0);
}

TEST(Report, IncompleteRunCarriesTheError) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  res.complete = false;
  res.error = "queue mxu instruction #3: access outside the regions";
  report::Context ctx{nullptr, &cfg, &res, "m.onnx", "timing", 1, false};
  const json r = checked(report::build_report(ctx), "incomplete");
  EXPECT_FALSE(r["complete"].get<bool>());
  EXPECT_EQ(r["error"], res.error);
  EXPECT_NE(report::terminal_summary(r).find("INCOMPLETE"), std::string::npos);
}

TEST(ReportValidation, BrokenReportsAreRejectedWithTheirPath) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  report::Context ctx{nullptr, &cfg, &res, "m.onnx", "timing", 1, false};
  const json good = report::build_report(ctx);
  auto expect_bad = [&](json r, const std::string& needle) {
    try {
      report::validate_report(r);
      ADD_FAILURE() << "accepted a report that should fail on " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Format);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json r = good;
  r["layers"][0]["cycles"] = r["layers"][0]["cycles"].get<uint64_t>() + 1;
  expect_bad(r, "cycles");
  r = good;
  r["total"].erase("energy_j");
  expect_bad(r, "/total");
  r = good;
  r["layers"][1]["bound"] = "memory";
  expect_bad(r, "/layers/1/bound");
  r = good;
  r["total"]["dram_read_bytes"] = -1;
  expect_bad(r, "/total/dram_read_bytes");
  r = good;
  r["schema"] = "cardsim-report/2";
  expect_bad(r, "/schema");
  r = good;
  r["surprise"] = 1;
  expect_bad(r, "/surprise");
}

TEST(Report, CsvAndSummaryNameTheLayers) {
  CardConfig cfg = hand_config();
  auto res = synthetic_result();
  report::Context ctx{nullptr, &cfg, &res, "m.onnx", "timing", 1, false};
  const json r = report::build_report(ctx);
  const std::string csv = report::layers_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header + 4 rows
  EXPECT_NE(csv.find("1,conv2,Conv,card,dram,300,900,600,2000,"), std::string::npos) << csv;
  const std::string sum = report::terminal_summary(r);
  EXPECT_NE(sum.find("conv2"), std::string::npos);
  EXPECT_EQ(sum.find("\x1b["), std::string::npos);  // no colour codes
}

// A real card run: one mxu.conv (16 output pixels × 64 in × 32 out channels, int8) after a
// DMA of 4096 bytes; the energy of the MACs and of the DRAM bits is checked by hand.
TEST(ReportOnCard, ConvAndDmaByHand) {
  auto end_instr = [] { isa::Instr in; in.op = isa::Opcode::End; return in; };
  isa::Instr c;
  c.op = isa::Opcode::MxuConv;
  c.df = 0;
  c.a_space = c.b_space = int64_t(isa::Space::Sram);
  c.a_type = c.b_type = int64_t(DType::I8);
  c.b_addr = 65536;
  c.a_s0 = 1; c.a_s2 = 64; c.a_s1 = 4 * 64;
  c.b_s0 = 64; c.b_s1 = 1; c.b_s2 = 1; c.b_s3 = 1;
  c.d_space = int64_t(isa::Space::Acc);
  c.d_s0 = 1; c.d_s1 = 32;
  c.in_c = 64; c.in_h = c.in_w = 4; c.out_h = c.out_w = 4; c.out_c = 32; c.k_h = c.k_w = 1;
  c.wait = 1;
  c.layer = 1;
  isa::Instr dma;
  dma.op = isa::Opcode::DmaCopy;
  dma.n0 = 4096;
  dma.d_space = int64_t(isa::Space::Sram); dma.d_addr = 131072; dma.d_type = int64_t(DType::I8); dma.d_s0 = 1;
  dma.a_space = int64_t(isa::Space::Dram); dma.a_addr = 0; dma.a_type = int64_t(DType::I8); dma.a_s0 = 1;
  dma.signal = 1;
  dma.layer = 0;
  isa::Program p;
  p.queues = {{c, end_instr()}, {end_instr()}, {dma, end_instr()}, {end_instr()}};
  p.dram_bytes = 1 << 20;
  p.sram_bytes = 1 << 20;
  p.acc_bytes = 1 << 16;
  p.layers = {{"load", "Load", 0, "card"}, {"conv", "Conv", 16 * 64 * 32, "card"}};
  CardConfig cfg = hand_config();
  card::RunOptions o;
  o.mode = card::RunOptions::Mode::Timing;
  o.warm = true;
  auto res = card::run_program_forked(p, cfg, {}, o);
  ASSERT_TRUE(res.complete) << res.error;
  report::Context ctx{&p, &cfg, &res, "conv.cbin", "timing", 1, true};
  const json r = checked(report::build_report(ctx), "card_conv");
  const uint64_t macs = 16 * 64 * 32;
  EXPECT_EQ(r["energy"]["by_action"]["mac_i8"]["count"], macs);
  EXPECT_EQ(r["energy"]["by_component"]["matrix_unit"]["energy_fj"], uint64_t(macs * 0.5 * 1000));
  EXPECT_EQ(r["energy"]["by_action"]["dram_read_bit"]["count"], 4096 * 8);
  EXPECT_EQ(r["energy"]["by_component"]["dram_read"]["energy_fj"], uint64_t(4096 * 8 * 0.5 * 4 * 1000));
  EXPECT_EQ(r["layers"][0]["dram_read_bytes"], 4096);
  EXPECT_EQ(r["layers"][1]["macs"], macs);
  // All MAC energy belongs to the conv layer, all DRAM read energy to the load.
  EXPECT_GE(r["layers"][1]["energy_fj"].get<uint64_t>(), uint64_t(macs * 0.5 * 1000));
  EXPECT_EQ(r["layers"][1]["bound"], "compute");
  EXPECT_GT(r["total"]["cycles"].get<uint64_t>(), 0u);
}

TEST(ReportValidation, SchemaKeywordsTheValidatorLacksAreRefused) {
  // An unimplemented keyword must not be silently ignored (it would accept anything).
  EXPECT_THROW(report::validate_against_schema(json("abc"), json{{"type", "string"}, {"pattern", "^x"}}), Error);
  EXPECT_NO_THROW(report::validate_against_schema(json(3), json{{"type", "integer"}, {"minimum", 3}}));
  EXPECT_THROW(report::validate_against_schema(json(2), json{{"type", "integer"}, {"minimum", 3}}), Error);
  EXPECT_THROW(report::validate_against_schema(json(2.5), json{{"type", "integer"}}), Error);
}
