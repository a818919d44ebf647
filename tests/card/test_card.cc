// The SystemC card: timing of each part against hand calculation, synchronisation, faults,
// modes. Every simulation runs in a fork()ed child (SystemC elaborates once per process).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "models/card/card.h"
#include "models/dram/dram_model.h"
#include "models/kernels/functional_run.h"
#include "models/kernels/kernels.h"

using namespace cardsim;
using card::RunOptions;
using isa::Opcode;
using isa::Space;

namespace {

isa::Instr end_instr() {
  isa::Instr in;
  in.op = Opcode::End;
  return in;
}

isa::Instr copy(int64_t n, Space ds, uint64_t da, Space as, uint64_t aa, DType t = DType::F32) {
  isa::Instr in;
  in.op = Opcode::DmaCopy;
  in.n0 = n;
  in.d_space = int64_t(ds);
  in.d_addr = int64_t(da);
  in.d_type = int64_t(t);
  in.d_s0 = 1;
  in.a_space = int64_t(as);
  in.a_addr = int64_t(aa);
  in.a_type = int64_t(t);
  in.a_s0 = 1;
  return in;
}

CardConfig test_config() {
  CardConfig cfg;
  cfg.pcie.latency_ns = 0;  // doorbell at t = 0 when warm and without inputs
  return cfg;
}

// Queues: mxu, vpu, dma0, dma1; each gets `end` appended.
isa::Program program(std::vector<std::vector<isa::Instr>> q) {
  isa::Program p;
  while (q.size() < 4) q.push_back({});
  for (auto& s : q) s.push_back(end_instr());
  p.queues = q;
  p.dram_bytes = 1 << 20;
  p.sram_bytes = 1 << 20;
  p.acc_bytes = 1 << 16;
  return p;
}

RunOptions warm_timing() {
  RunOptions o;
  o.mode = RunOptions::Mode::Timing;
  o.warm = true;
  return o;
}

}  // namespace

TEST(CardTiming, DmaCopyIsSetupPlusDramTime) {
  const uint64_t bytes = 4096;  // 64 requests of 64 B: within max_outstanding, no pacing
  auto p = program({{}, {}, {copy(int64_t(bytes / 4), Space::Sram, 0, Space::Dram, 0x10000)}});
  CardConfig cfg = test_config();
  auto r = card::run_program_forked(p, cfg, {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  // Independent: the same requests on a fresh DRAM model, issued one per cycle after setup.
  CardConfig eff = cfg;
  eff.dram.timing = dram::find_speed_grade(eff.dram.standard, eff.dram.speed_grade);
  dram::DramModel model(eff.dram);
  std::vector<dram::Request> reqs(bytes / 64);
  const double setup_ns = cfg.dma.setup_cycles / cfg.clock_ghz;
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].addr = 0x10000 + 64 * i;
    reqs[i].arrive_ns = setup_ns + double(i) / cfg.clock_ghz;
  }
  model.serve(reqs);
  double last = 0;
  for (const auto& q : reqs) last = std::max(last, q.done_ns);
  const uint64_t want = uint64_t(std::llround(last * cfg.clock_ghz));
  EXPECT_EQ(r.stats.total_cycles, want);
  EXPECT_EQ(r.stats.engines[2].busy_cycles, want);
  EXPECT_GT(want, uint64_t(cfg.dma.setup_cycles) + bytes / 64);  // DRAM latency is visible
  EXPECT_EQ(r.stats.dram.bytes_read, bytes);
  EXPECT_EQ(r.stats.dram.requests, bytes / 64);
  EXPECT_EQ(r.stats.memory.sram_write_bytes, bytes);
}

TEST(CardTiming, MxuConvCyclesFollowTheFormula) {
  isa::Instr c;
  c.op = Opcode::MxuConv;
  c.df = 0;  // WS
  c.a_space = c.b_space = int64_t(Space::Sram);
  c.a_type = c.b_type = int64_t(DType::I8);
  c.b_addr = 65536;
  c.a_s0 = 1; c.a_s2 = 64; c.a_s1 = 4 * 64;
  c.b_s0 = 64; c.b_s1 = 1; c.b_s2 = 1; c.b_s3 = 1;
  c.d_space = int64_t(Space::Acc);
  c.d_s0 = 1; c.d_s1 = 32;
  c.in_c = 64; c.in_h = c.in_w = 4; c.out_h = c.out_w = 4; c.out_c = 32; c.k_h = c.k_w = 1;
  auto p = program({{c}});
  CardConfig cfg = test_config();  // 128 x 128, weight_buffers 2
  auto r = card::run_program_forked(p, cfg, {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  // WS: Sr = K = 64, Sc = N = 32, T = M = 16: one fold; R + (R + C + T - 2).
  const uint64_t want = 128 + (128 + 128 + 16 - 2);
  EXPECT_EQ(r.stats.engines[0].busy_cycles, want);
  EXPECT_EQ(r.stats.total_cycles, want);
  EXPECT_EQ(r.stats.macs, 16u * 64 * 32);
  EXPECT_EQ(r.stats.layers.at(0).macs, 16u * 64 * 32);
}

TEST(CardTiming, ConsumerWaitingOnSemaphoreStartsAfterProducer) {
  auto load = copy(1024, Space::Sram, 0, Space::Dram, 0);
  load.signal = 1;
  isa::Instr relu;
  relu.op = Opcode::VpuUnary;
  relu.fn = int64_t(isa::Fn::Relu);
  relu.n0 = 1024;
  relu.a_space = relu.d_space = int64_t(Space::Sram);
  relu.a_type = relu.d_type = int64_t(DType::F32);
  relu.a_s0 = relu.d_s0 = 1;
  relu.d_addr = 8192;
  relu.wait = 1;
  auto p = program({{}, {relu}, {load}});
  auto r = card::run_program_forked(p, test_config(), {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  const auto& dma = r.stats.engines[2];
  const auto& vpu = r.stats.engines[1];
  // vpu cost: ceil(1024 / 128 lanes) * 1 + latency 0 = 8 cycles.
  EXPECT_EQ(vpu.busy_cycles, 8u);
  EXPECT_EQ(vpu.sync_stall_cycles, dma.busy_cycles);
  EXPECT_EQ(r.stats.total_cycles, dma.busy_cycles + vpu.busy_cycles + vpu.mem_stall_cycles);
}

TEST(CardFaults, DeadlockIsReportedNotHung) {
  isa::Instr w;
  w.op = Opcode::SemWait;
  w.sem = 3;
  w.count = 2;
  auto p = program({{}, {w}, {copy(16, Space::Sram, 0, Space::Dram, 0)}});
  auto r = card::run_program_forked(p, test_config(), {}, warm_timing());
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.stats.complete);
  EXPECT_NE(r.error.find("deadlock"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("vpu at #0 sem.wait"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("semaphore 3 (value 0, needs 2)"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("dma0 at"), std::string::npos) << r.error;
}

TEST(CardFaults, AccessOutsideRegionsStopsTheRun) {
  auto p = program({{}, {}, {copy(16, Space::Sram, 0, Space::Dram, 0), copy(16, Space::Dram, 0x9000, Space::Sram, 0)}});
  p.regions = {{"w", Space::Dram, 0, 4096, true}, {"sram", Space::Sram, 0, 1 << 20, true}};
  RunOptions o;
  o.warm = true;
  auto r = card::run_program_forked(p, test_config(), {}, o);
  EXPECT_FALSE(r.complete);
  EXPECT_NE(r.error.find("dma0 instruction #1 dma.copy"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("writes dram [0x9000, 0x9040)"), std::string::npos) << r.error;
  EXPECT_EQ(r.stats.engines[2].instructions, 2u);  // partial statistics
}

namespace {
// input f32[n] -> sram -> relu (vpu) -> sram -> dram output, two DMA queues, semaphores.
isa::Program relu_program(int64_t n) {
  auto load = copy(n, Space::Sram, 0, Space::Dram, 0);
  load.signal = 1;
  isa::Instr relu;
  relu.op = Opcode::VpuUnary;
  relu.fn = int64_t(isa::Fn::Relu);
  relu.n0 = n;
  relu.a_space = relu.d_space = int64_t(Space::Sram);
  relu.a_type = relu.d_type = int64_t(DType::F32);
  relu.a_s0 = relu.d_s0 = 1;
  relu.d_addr = 4 * n;
  relu.wait = 1;
  relu.signal = 2;
  relu.layer = 1;
  auto store = copy(n, Space::Dram, uint64_t(8 * n), Space::Sram, uint64_t(4 * n));
  store.wait = 2;
  store.layer = 1;
  auto p = program({{}, {relu}, {load}, {store}});
  p.inputs.push_back({"x", DType::F32, {n}, 0, 0.0f, 0});
  p.outputs.push_back({"y", DType::F32, {n}, uint64_t(8 * n), 0.0f, 0});
  p.layers = {{"load", "Input", 0, "card"}, {"relu", "Relu", 0, "card"}};
  return p;
}
}  // namespace

TEST(CardModes, BothComputesOutputsAndTimingOnlyGivesTheSameCycles) {
  const int64_t n = 3000;
  auto p = relu_program(n);
  std::vector<float> xs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) xs[size_t(i)] = float((i % 7) - 3);
  Tensor x = Tensor::from_floats({n}, xs);
  RunOptions both;
  auto rb = card::run_program_forked(p, test_config(), {x}, both);
  ASSERT_TRUE(rb.complete) << rb.error;
  RunOptions timing;
  timing.mode = RunOptions::Mode::Timing;
  auto rt = card::run_program_forked(p, test_config(), {x}, timing);
  ASSERT_TRUE(rt.complete) << rt.error;
  EXPECT_EQ(rb.stats.total_cycles, rt.stats.total_cycles);
  for (size_t q = 0; q < 4; ++q) {
    EXPECT_EQ(rb.stats.engines[q].busy_cycles, rt.stats.engines[q].busy_cycles);
    EXPECT_EQ(rb.stats.engines[q].sync_stall_cycles, rt.stats.engines[q].sync_stall_cycles);
  }
  ASSERT_EQ(rb.outputs.size(), 1u);
  auto ref = kernels::run_functional(p, {x});
  EXPECT_EQ(rb.outputs[0].data, ref[0].data);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(rb.outputs[0].ptr<float>()[i], std::max(0.0f, xs[size_t(i)]));
  EXPECT_TRUE(rt.outputs.empty());
  // Cold start reports the model load; layer 1 saw the relu and the store.
  EXPECT_GT(rb.stats.model_load_ns, 0.0);
  EXPECT_EQ(rb.stats.layers.at(1).dram_write_bytes, uint64_t(4 * n));
  EXPECT_GT(rb.stats.layers.at(1).last_end_ns, rb.stats.layers.at(1).first_start_ns);
  // Functional mode: same outputs, no SystemC.
  RunOptions f;
  f.mode = RunOptions::Mode::Functional;
  auto rf = card::run_program(p, test_config(), {x}, f);
  EXPECT_EQ(rf.outputs[0].data, ref[0].data);
}

TEST(CardModes, BackToBackInferencesOverlapInputWrites) {
  auto p = relu_program(1 << 16);
  Tensor x = Tensor::from_floats({1 << 16}, std::vector<float>(1 << 16, 1.0f));
  RunOptions o;
  o.mode = RunOptions::Mode::Timing;
  o.inferences = 4;
  auto r = card::run_program_forked(p, test_config(), {x}, o);
  ASSERT_TRUE(r.complete) << r.error;
  ASSERT_EQ(r.stats.inference_latency_ns.size(), 4u);
  ASSERT_EQ(r.stats.inference_card_ns.size(), 4u);
  EXPECT_GT(r.stats.throughput_per_s, 0.0);
  // Steady state is at least as fast as one isolated inference.
  EXPECT_GE(r.stats.throughput_per_s * 1.0001, 1e9 / r.stats.inference_latency_ns[0]);
  // Each inference runs the same program; only DRAM state (open rows, refresh) differs.
  EXPECT_NEAR(r.stats.inference_card_ns[1], r.stats.inference_card_ns[2], 0.1 * r.stats.inference_card_ns[1]);
}

TEST(CardApi, BadInputsThrowBeforeSimulating) {
  auto p = relu_program(16);
  EXPECT_THROW(card::run_program_forked(p, test_config(), {}, RunOptions{}), Error);
  EXPECT_THROW(card::run_program_forked(p, test_config(), {Tensor::from_floats({3}, {1, 2, 3})}, RunOptions{}), Error);
  CardConfig small = test_config();
  small.dma.dma_channels = 1;
  try {
    card::run_program_forked(p, small, {Tensor::from_floats({16}, std::vector<float>(16, 0))}, RunOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Capacity);
  }
}

namespace {

// Runs f in a fork()ed child (SystemC elaborates once per process); returns what f wrote.
template <typename F>
std::string in_child(F f) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    try {
      out = f();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    }
    if (write(fds[1], out.data(), out.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

struct CountingObserver : card::Observer {
  int instructions = 0, dram = 0, pcie = 0, layers = 0, inferences = 0;
  double last_end = 0;
  bool ordered = true;
  void instruction(int queue, isa::Opcode op, uint32_t layer, double start_ns, double end_ns, uint64_t bytes) override {
    ++instructions;
    if (end_ns < start_ns) ordered = false;
    last_end = std::max(last_end, end_ns);
  }
  void dram_request(uint64_t, bool, double arrive, double done, int) override {
    ++dram;
    if (done < arrive) ordered = false;
  }
  void pcie_transfer(int, uint64_t, double s, double e, const char*) override {
    ++pcie;
    if (e < s) ordered = false;
  }
  void layer_span(uint32_t, const std::string&, double s, double e) override { ++layers; }
  void inference(int, double s, double e) override { ++inferences; }
};

}  // namespace

TEST(CardObserver, ReceivesSpansRequestsTransfersAndLayers) {
  auto p = relu_program(1024);
  Tensor x = Tensor::from_floats({1024}, std::vector<float>(1024, -1.0f));
  std::string out = in_child([&] {
    CountingObserver obs;
    RunOptions o;
    o.observer = &obs;
    auto r = card::run_program(p, test_config(), {x}, o);
    // A second elaboration in the same process is refused, not crashed.
    std::string second = "none";
    try {
      card::run_program(p, test_config(), {x}, o);
    } catch (const Error& e) {
      second = e.kind() == ErrorKind::Usage ? "usage" : "other";
    }
    return fmt::format("{} {} {} {} {} {} {} {}", int(r.complete), obs.instructions, obs.dram, obs.pcie, obs.layers,
                       obs.inferences, int(obs.ordered), second);
  });
  int complete, instr, dram, pcie, layers, inf, ordered;
  char second[16] = {};
  ASSERT_EQ(std::sscanf(out.c_str(), "%d %d %d %d %d %d %d %15s", &complete, &instr, &dram, &pcie, &layers, &inf,
                        &ordered, second), 8) << out;
  EXPECT_EQ(complete, 1);
  EXPECT_EQ(instr, 3 + 4);         // copy, relu, copy + one `end` per queue
  EXPECT_EQ(dram, 2 * 4096 / 64);  // read the input, write the output: 64 B requests
  EXPECT_EQ(pcie, 3);              // model load, input, output
  EXPECT_EQ(layers, 2);
  EXPECT_EQ(inf, 1);
  EXPECT_EQ(ordered, 1);
  EXPECT_STREQ(second, "usage");
}

TEST(CardTiming, CompressedWeightsReadOnlyCbytesFromDram) {
  auto c = copy(4096, Space::Sram, 0, Space::Dram, 0x20000, DType::I8);
  c.cbytes = 1024;
  auto p = program({{}, {}, {c}});
  auto r = card::run_program_forked(p, test_config(), {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  EXPECT_EQ(r.stats.dram.bytes_read, 1024u);
  EXPECT_EQ(r.stats.memory.sram_write_bytes, 4096u);
}

TEST(CardTiming, BarrierReleasesEveryQueueAtTheLastArrival) {
  isa::Instr b;
  b.op = Opcode::Barrier;
  b.id = 7;
  // dma0 does a copy before the barrier; vpu and mxu arrive at once and wait for it.
  auto p = program({{b}, {b}, {copy(2048, Space::Sram, 0, Space::Dram, 0), b}, {b}});
  auto r = card::run_program_forked(p, test_config(), {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  const uint64_t dma = r.stats.engines[2].busy_cycles;
  EXPECT_GT(dma, 0u);
  EXPECT_EQ(r.stats.engines[0].sync_stall_cycles, dma);
  EXPECT_EQ(r.stats.engines[1].sync_stall_cycles, dma);
  EXPECT_EQ(r.stats.engines[3].sync_stall_cycles, dma);
  EXPECT_EQ(r.stats.total_cycles, dma);
}

TEST(CardTiming, HostCallCostsPcieRoundTripsAndHostCompute) {
  isa::Instr call;
  call.op = Opcode::HostCall;
  call.id = 0;
  auto p = program({{}, {}, {call}});
  isa::HostOp op;
  op.op_type = "Relu";
  op.inputs.push_back({DType::F32, {1 << 20}, 0});
  op.outputs.push_back({DType::F32, {1 << 20}, 4 << 20});
  p.host_ops.push_back(op);
  p.dram_bytes = 8 << 20;
  CardConfig cfg = test_config();
  cfg.host.op_gflops = 1;  // 2^21 elements -> 2.097 ms of host compute
  auto r = card::run_program_forked(p, cfg, {}, warm_timing());
  ASSERT_TRUE(r.complete) << r.error;
  EXPECT_EQ(r.stats.host_ops, 1u);
  const double compute_ns = double(2 << 20) / 1.0;
  EXPECT_GT(r.stats.total_ns, compute_ns);
  // 4 MiB each way over a Gen4 x16 link (> 20 GB/s): well under 1 ms of transfers.
  EXPECT_LT(r.stats.total_ns, compute_ns + 1e6);
  EXPECT_EQ(r.stats.pcie.d2h.payload_bytes, 4u << 20);
  EXPECT_EQ(r.stats.pcie.h2d.payload_bytes, 4u << 20);
  EXPECT_EQ(r.stats.engines[2].sync_stall_cycles, r.stats.total_cycles);
  // The host-placed layer's span covers the call (PCIe both ways + host compute), not 0.
  ASSERT_GE(r.stats.layers.size(), 1u);
  const auto& layer = r.stats.layers[0];
  ASSERT_GE(layer.first_start_ns, 0.0);
  EXPECT_GT(layer.last_end_ns - layer.first_start_ns, compute_ns);
}

TEST(CardTiming, ConcurrentDmaStreamsShareTheDramInsteadOfQueueing) {
  // Four DMA channels each copy 1 MiB from DRAM (regions 1 MiB + 16 KiB apart: other banks)
  // on GDDR5 (8 x32, 224 GB/s) at 0.7 GHz, where one channel issues at most 44.8 GB/s. The
  // controller must see the four streams interleaved in time: together they move well over
  // three times what one stream moves alone. Served one channel's window at a time (each
  // placed behind the other's), four streams reached 2.1x one stream.
  CardConfig cfg = test_config();
  cfg.clock_ghz = 0.7;
  cfg.dram = dram::typical_config("GDDR5", "GDDR5_7000", 8);
  const int64_t n = (1 << 20) / 4;  // f32 elements per stream
  auto streams = [&](int count) {
    std::vector<std::vector<isa::Instr>> q(6);
    for (int s = 0; s < count; ++s) {
      const uint64_t off = uint64_t(s) * ((1 << 20) + (16 << 10));
      q[size_t(2 + s)].push_back(copy(n, Space::Sram, off, Space::Dram, off));
    }
    auto p = program(q);
    p.dram_bytes = p.sram_bytes = 8 << 20;
    auto r = card::run_program_forked(p, cfg, {}, warm_timing());
    EXPECT_TRUE(r.complete) << r.error;
    EXPECT_EQ(r.stats.dram.bytes_read, uint64_t(count) << 20);
    return double(r.stats.dram.bytes_read) / r.stats.total_ns;  // GB/s
  };
  const double one = streams(1), four = streams(4);
  EXPECT_GT(one, 0.9 * 44.8);  // one channel is issue-bound
  EXPECT_GT(four, 3.0 * one) << "one stream " << one << " GB/s, four " << four << " GB/s";
  EXPECT_LT(four, 4.0 * 44.8 * 1.001);  // never above what four channels can issue
}
