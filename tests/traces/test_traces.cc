// Trace writers, checked by real consumers: speedscope's importer (node), GTKWave's vcd2fst /
// fst2vcd, and the DRAM trace parser + replay behind `cardsim dram-replay`. Synthetic events
// first, then a real card run (in a fork()ed child: SystemC elaborates once per process).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/card/card.h"
#include "models/dram/replay.h"
#include "traces/traces.h"

using namespace cardsim;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One scratch folder per process, removed at exit.
struct ScratchDir {
  fs::path path = fs::temp_directory_path() / fmt::format("cardsim_test_traces_{}", ::getpid());
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ec;
    if (::getpid() == owner) fs::remove_all(path, ec);
  }
  pid_t owner = ::getpid();
};

fs::path temp_dir() {
  static ScratchDir dir;
  return dir.path;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

traces::TraceOptions base_options() {
  traces::TraceOptions o;
  o.clock_ghz = 1.0;
  o.dram_tck_ns = 0.625;
  o.dram_request_bytes = 64;
  o.dram_channels = 2;
  o.queue_names = {"mxu", "vpu", "dma0"};
  o.layer_names = {"conv1", "relu1"};
  return o;
}

// A small, hand-made event stream: dma loads (layer 0), mxu computes (layer 0), vpu (layer 1).
void feed(card::Observer& o) {
  o.pcie_transfer(0, 4096, 0, 900, "input");
  o.instruction(2, isa::Opcode::DmaCopy, 0, 1000, 1400, 4096);
  for (int i = 0; i < 8; ++i) o.dram_request(0x1000 + 64 * uint64_t(i), false, 1000 + 10 * i, 1100 + 10 * i, i % 2);
  o.dram_request(0x9000, true, 5000, 5080, 1);
  o.dependency(2, 0, 1400, 1400);
  o.instruction(0, isa::Opcode::MxuConv, 0, 1400, 2400, 3072);
  o.instruction(0, isa::Opcode::MxuConv, 0, 2400, 3000, 3072);
  o.dependency(0, 1, 3000, 3010);
  o.instruction(1, isa::Opcode::VpuUnary, 1, 3010, 3500, 2048);
  o.layer_span(0, "conv1", 1000, 3000);
  o.layer_span(1, "relu1", 3010, 3500);
  o.pcie_transfer(1, 1024, 3600, 4200, "output");
  o.inference(0, 0, 4200);
}

}  // namespace

TEST(TraceOptions, WindowParsing) {
  auto w = traces::parse_trace_window("100us:2ms", 1.0);
  EXPECT_DOUBLE_EQ(w.start_ns, 100e3);
  EXPECT_DOUBLE_EQ(w.end_ns, 2e6);
  w = traces::parse_trace_window("5000c:", 2.0);  // 5000 cycles at 2 GHz = 2500 ns
  EXPECT_DOUBLE_EQ(w.start_ns, 2500);
  EXPECT_TRUE(std::isinf(w.end_ns));
  w = traces::parse_trace_window(":300", 1.0);
  EXPECT_DOUBLE_EQ(w.start_ns, 0);
  EXPECT_DOUBLE_EQ(w.end_ns, 300);
  for (const char* bad : {"100", "1:2:3", "x:5", "5:1", "5parsecs:", "-3:"})
    EXPECT_THROW(traces::parse_trace_window(bad, 1.0), Error) << bad;
  EXPECT_EQ(traces::parse_trace_detail("instruction"), traces::Detail::Instruction);
  EXPECT_THROW(traces::parse_trace_detail("cycle"), Error);
}

TEST(ChromeTrace, InstructionDetailHasTracksSpansCountersFlows) {
  const fs::path path = temp_dir() / "instr.json";
  auto o = base_options();
  o.chrome_path = path.string();
  o.detail = traces::Detail::Instruction;
  o.counter_window_ns = 500;
  auto obs = traces::make_observers(o);
  feed(*obs);
  obs->finish();
  const json t = json::parse(slurp(path));
  std::set<std::string> threads;
  int instr = 0, runs = 0, flows_s = 0, flows_f = 0, counters = 0, async_b = 0, async_e = 0, dram_busy = 0;
  for (const json& e : t["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "thread_name") threads.insert(e["args"]["name"].get<std::string>());
    if (ph == "X" && e["cat"] == "instruction") {
      ++instr;
      EXPECT_TRUE(e["args"].contains("opcode") && e["args"].contains("bytes") && e["args"].contains("cycles") &&
                  e["args"].contains("layer"));
    }
    if (ph == "X" && e["cat"] == "layer") ++runs;
    if (ph == "X" && e["cat"] == "dram") ++dram_busy;
    flows_s += ph == "s";
    flows_f += ph == "f";
    counters += ph == "C";
    async_b += ph == "b";
    async_e += ph == "e";
  }
  for (const char* n : {"mxu", "vpu", "dma0", "h2d", "d2h", "inferences", "ch0", "ch1"}) EXPECT_TRUE(threads.count(n)) << n;
  EXPECT_EQ(instr, 4);
  EXPECT_EQ(runs, 3);       // dma0: conv1; mxu: conv1 (both convs merged); vpu: relu1
  EXPECT_EQ(flows_s, 2);
  EXPECT_EQ(flows_f, 2);
  EXPECT_EQ(async_b, 4);    // 2 PCIe transfers + 2 layer spans
  EXPECT_EQ(async_e, 4);
  EXPECT_GE(dram_busy, 2);  // ch0 and ch1 each had a busy interval
  // Counters: windows of 500 ns from 0 to 5500 (first to last activity + closing zero).
  EXPECT_GT(counters, 3 * 10);
  // mxu utilisation in window [1500, 2000) is 100 %: it ran 1400..3000.
  bool saw_full = false;
  for (const json& e : t["traceEvents"])
    if (e["ph"] == "C" && e["name"] == "utilization" && e["ts"].get<double>() == 1.5) saw_full = e["args"]["mxu"] == 1.0;
  EXPECT_TRUE(saw_full);
}

TEST(ChromeTrace, LayerDetailAndWindowBoundTheTrace) {
  const fs::path path = temp_dir() / "layer.json";
  auto o = base_options();
  o.chrome_path = path.string();
  o.detail = traces::Detail::Layer;
  o.window = traces::parse_trace_window("1000:2000", 1.0);
  auto obs = traces::make_observers(o);
  feed(*obs);
  obs->finish();
  const json t = json::parse(slurp(path));
  for (const json& e : t["traceEvents"]) {
    EXPECT_NE(e.value("cat", ""), "instruction");
    EXPECT_NE(e["ph"], "s");
    if (e["ph"] == "X") {
      const double a = e["ts"].get<double>() * 1000, b = a + e["dur"].get<double>() * 1000;
      EXPECT_TRUE(b >= 1000 && a <= 2000) << e.dump();
    }
    EXPECT_NE(e.value("name", ""), "relu1");  // starts at 3010: outside the window
  }
}

TEST(ChromeTrace, SpeedscopeImportsIt) {
  if (run("node --version").first != 0) GTEST_SKIP() << "node not installed";
  const fs::path path = temp_dir() / "speedscope.json";
  auto o = base_options();
  o.chrome_path = path.string();
  o.detail = traces::Detail::Instruction;
  auto obs = traces::make_observers(o);
  feed(*obs);
  obs->finish();
  const std::string script = std::string(CARDSIM_SOURCE_DIR) + "/tests/traces/speedscope_import.js";
  auto [status, out] = run("node " + script + " " + path.string());
  ASSERT_EQ(status, 0) << out;
  const json r = json::parse(out);
  // One profile per track with slices: mxu, vpu, dma0 (card), inferences (pcie), ch0, ch1 (dram).
  EXPECT_GE(r["profiles"].get<int>(), 4) << out;
  std::set<std::string> frames;
  for (const auto& f : r["frame_names"]) frames.insert(f.get<std::string>());
  bool conv = false, mxu_conv = false;
  for (const auto& f : frames) conv |= f.rfind("conv1", 0) == 0, mxu_conv |= f.rfind("mxu.conv", 0) == 0;
  EXPECT_TRUE(conv) << out;
  EXPECT_TRUE(mxu_conv) << out;
}

TEST(Vcd, Vcd2fstAcceptsItAndFst2vcdGivesTheSameSignals) {
  if (run("command -v vcd2fst && command -v fst2vcd").first != 0) GTEST_SKIP() << "gtkwave tools not installed";
  const fs::path dir = temp_dir();
  auto o = base_options();
  o.vcd_path = (dir / "t.vcd").string();
  o.counter_window_ns = 500;
  auto obs = traces::make_observers(o);
  feed(*obs);
  obs->finish();
  const std::string vcd = slurp(dir / "t.vcd");
  EXPECT_NE(vcd.find("$timescale 1ns $end"), std::string::npos);
  // mxu busy from 1400 to 3000 (two back-to-back instructions merge into one pulse).
  EXPECT_NE(vcd.find("#1400\n1!"), std::string::npos) << vcd;
  EXPECT_NE(vcd.find("#3000\n0!"), std::string::npos) << vcd;
  auto [st, out] = run("vcd2fst " + (dir / "t.vcd").string() + " " + (dir / "t.fst").string() + " 2>&1");
  ASSERT_EQ(st, 0) << out;
  auto [st2, back] = run("fst2vcd " + (dir / "t.fst").string() + " 2>&1");
  ASSERT_EQ(st2, 0) << back;
  // "$var <type> <size> <id> <reference> ... $end": the reference names. (Tokens, not
  // std::regex: libstdc++ 12's regex gives bogus -Wmaybe-uninitialized in the sanitizer build.)
  auto names = [](const std::string& text) {
    std::set<std::string> n;
    std::istringstream in(text);
    std::string tok, type, size, id, ref;
    while (in >> tok)
      if (tok == "$var" && in >> type >> size >> id >> ref) n.insert(ref);
    return n;
  };
  const auto a = names(vcd), b = names(back);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a.count("mxu_busy") && a.count("dram_ch1_gbps") && a.count("pcie_h2d_gbps"));
  // The round trip keeps the mxu edges.
  EXPECT_NE(back.find("#1400"), std::string::npos);
}

TEST(DramTrace, DramSim3AndRamulatorParseAndReplay) {
  const fs::path dir = temp_dir();
  for (const char* format : {"dramsim3", "ramulator"}) {
    auto o = base_options();
    o.dram_trace_path = (dir / (std::string(format) + ".trace")).string();
    o.dram_trace_format = format;
    auto obs = traces::make_observers(o);
    feed(*obs);
    obs->finish();
    const std::string text = slurp(o.dram_trace_path);
    if (std::string(format) == "dramsim3") {
      // First request: 0x1000 READ at 1000 ns / 0.625 ns = cycle 1600; the write last.
      EXPECT_EQ(text.substr(0, text.find('\n')), "0x1000 READ 1600") << text;
      EXPECT_NE(text.find("0x9000 WRITE 8000"), std::string::npos) << text;
    } else {
      EXPECT_EQ(text.substr(0, text.find('\n')), "LD 0x1000") << text;
      EXPECT_NE(text.find("ST 0x9000"), std::string::npos) << text;
    }
    auto reqs = dram::read_trace_file(o.dram_trace_path, dram::parse_trace_format(format), o.dram_tck_ns);
    ASSERT_EQ(reqs.size(), 9u);
    EXPECT_EQ(reqs[8].addr, 0x9000u);
    EXPECT_TRUE(reqs[8].is_write);
    CardConfig cfg;
    cfg.dram.timing = dram::find_speed_grade(cfg.dram.standard, cfg.dram.speed_grade);
    const auto rr = dram::replay_requests(reqs, cfg.dram);
    EXPECT_EQ(rr.requests, 9u);
    EXPECT_EQ(rr.writes, 1u);
  }
  auto o = base_options();
  o.dram_trace_path = (dir / "x.trace").string();
  o.dram_trace_format = "dramsim2";
  EXPECT_THROW(traces::make_observers(o), Error);
}

TEST(Traces, UnwritablePathIsAnIoError) {
  auto o = base_options();
  o.chrome_path = "/nonexistent-dir/t.json";
  try {
    traces::make_observers(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/t.json"), std::string::npos);
  }
}

// A real run: dma -> semaphore -> mxu.conv, observed by all writers at instruction detail.
TEST(TracesOnCard, RealRunOpensInSpeedscopeAndGtkwaveAndReplays) {
  const fs::path dir = temp_dir();
  auto end_instr = [] { isa::Instr in; in.op = isa::Opcode::End; return in; };
  isa::Instr c;
  c.op = isa::Opcode::MxuConv;
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
  dma.n0 = 8192;
  dma.d_space = int64_t(isa::Space::Sram); dma.d_addr = 131072; dma.d_type = int64_t(DType::I8); dma.d_s0 = 1;
  dma.a_space = int64_t(isa::Space::Dram); dma.a_type = int64_t(DType::I8); dma.a_s0 = 1;
  dma.signal = 1;
  isa::Program p;
  p.queues = {{c, end_instr()}, {end_instr()}, {dma, end_instr()}, {end_instr()}};
  p.dram_bytes = 1 << 20;
  p.sram_bytes = 1 << 20;
  p.acc_bytes = 1 << 16;
  p.layers = {{"load", "Load", 0, "card"}, {"conv", "Conv", 32768, "card"}};
  CardConfig cfg;
  traces::TraceOptions o;
  traces::fill_from(o, p, cfg);
  o.chrome_path = (dir / "card.json").string();
  o.detail = traces::Detail::Instruction;
  o.vcd_path = (dir / "card.vcd").string();
  o.dram_trace_path = (dir / "card.trace").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    try {
      auto obs = traces::make_observers(o);
      card::RunOptions ro;
      ro.mode = card::RunOptions::Mode::Timing;
      ro.warm = true;
      ro.observer = obs.get();
      auto r = card::run_program(p, cfg, {}, ro);
      obs->finish();
      code = r.complete ? 0 : 3;
    } catch (...) {
      code = 4;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
  // The DRAM trace holds the DMA's 8192 / 64 = 128 reads.
  auto reqs = dram::read_trace_file(o.dram_trace_path, dram::TraceFormat::DRAMSim3, o.dram_tck_ns);
  EXPECT_EQ(reqs.size(), 128u);
  const json t = json::parse(slurp(dir / "card.json"));
  int instr = 0;
  for (const json& e : t["traceEvents"]) instr += e["ph"] == "X" && e["cat"] == "instruction";
  EXPECT_EQ(instr, 2);  // dma.copy and mxu.conv (end is not drawn)
  // The semaphore from dma0 to mxu is one flow arrow: starts on dma0 (tid 3), ends on mxu (tid 1).
  int flow_s = 0, flow_f = 0;
  for (const json& e : t["traceEvents"]) {
    flow_s += e["ph"] == "s" && e["tid"] == 3;
    flow_f += e["ph"] == "f" && e["tid"] == 1;
  }
  EXPECT_EQ(flow_s, 1);
  EXPECT_EQ(flow_f, 1);
  if (run("node --version").first == 0) {
    auto [status, out] = run("node " + std::string(CARDSIM_SOURCE_DIR) + "/tests/traces/speedscope_import.js " +
                             (dir / "card.json").string());
    EXPECT_EQ(status, 0) << out;
  }
  if (run("command -v vcd2fst").first == 0) {
    auto [s2, out] = run("vcd2fst " + (dir / "card.vcd").string() + " " + (dir / "card.fst").string() + " 2>&1");
    EXPECT_EQ(s2, 0) << out;
  }
}
