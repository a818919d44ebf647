// run_functional: whole programs with semaphores, barriers, deadlock and region faults.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "kernel_test_util.h"
#include "models/kernels/functional_run.h"

using namespace cardsim;
using namespace cardsim::test;
using isa::Opcode;
using isa::Space;

namespace {

isa::Instr end_instr() {
  isa::Instr in;
  in.op = Opcode::End;
  return in;
}

// input f32[8] @dram 0 -> dma0 -> sram 0 -> vpu relu -> sram 64 -> dma1 -> dram 256 (output)
isa::Program relu_program() {
  isa::Program p;
  p.queues.resize(4);
  p.queues[0] = {end_instr()};
  auto load = elementwise(Opcode::DmaCopy, 8, Space::Sram, 0, DType::F32, Space::Dram, 0, DType::F32);
  load.signal = 1;
  p.queues[2] = {load, end_instr()};
  auto relu = elementwise(Opcode::VpuUnary, 8, Space::Sram, 64, DType::F32, Space::Sram, 0, DType::F32);
  relu.fn = int64_t(isa::Fn::Relu);
  relu.wait = 1;
  relu.signal = 2;
  p.queues[1] = {relu, end_instr()};
  auto store = elementwise(Opcode::DmaCopy, 8, Space::Dram, 256, DType::F32, Space::Sram, 64, DType::F32);
  store.wait = 2;
  p.queues[3] = {store, end_instr()};
  p.inputs.push_back({"x", DType::F32, {8}, 0, 0.0f, 0});
  p.outputs.push_back({"y", DType::F32, {8}, 256, 0.0f, 0});
  p.dram_bytes = 1024;
  p.sram_bytes = 4096;
  p.acc_bytes = 1024;
  p.regions = {{"x", Space::Dram, 0, 32, false}, {"y", Space::Dram, 256, 32, true}, {"sram", Space::Sram, 0, 4096, true}};
  return p;
}

std::string fault_message(const isa::Program& p, const std::vector<Tensor>& in) {
  try {
    kernels::run_functional(p, in);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Fault) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a fault";
  return "";
}

}  // namespace

TEST(RunFunctional, QueuesOrderedBySemaphores) {
  auto p = relu_program();
  Tensor x = Tensor::from_floats({8}, {-1, 2, -3, 4, 0, 6, -7, 8});
  auto out = kernels::run_functional(p, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, (Shape{8}));
  std::vector<float> got(out[0].ptr<float>(), out[0].ptr<float>() + 8);
  EXPECT_EQ(got, (std::vector<float>{0, 2, 0, 4, 0, 6, 0, 8}));
}

TEST(RunFunctional, SemWaitCountsAndBarriers) {
  auto p = relu_program();
  // The store waits via sem.wait for a count of 2 on semaphore 5: the vpu signals it twice.
  p.queues[3][0].wait = 0;
  isa::Instr w;
  w.op = Opcode::SemWait;
  w.sem = 5;
  w.count = 2;
  isa::Instr s;
  s.op = Opcode::SemSignal;
  s.sem = 5;
  s.count = 1;
  p.queues[1].insert(p.queues[1].begin() + 1, {s, s});
  p.queues[3].insert(p.queues[3].begin(), w);
  // Everyone meets at barrier 9 before ending.
  isa::Instr b;
  b.op = Opcode::Barrier;
  b.id = 9;
  for (auto& q : p.queues) q.insert(q.end() - 1, b);
  Tensor x = Tensor::from_floats({8}, {1, -2, 3, -4, 5, -6, 7, -8});
  auto out = kernels::run_functional(p, {x});
  std::vector<float> got(out[0].ptr<float>(), out[0].ptr<float>() + 8);
  EXPECT_EQ(got, (std::vector<float>{1, 0, 3, 0, 5, 0, 7, 0}));
}

TEST(RunFunctional, DeadlockListsEveryBlockedQueue) {
  auto p = relu_program();
  p.queues[1][0].wait = 3;  // never signalled
  auto msg = fault_message(p, {Tensor::from_floats({8}, std::vector<float>(8, 1))});
  EXPECT_NE(msg.find("deadlock"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vpu at #0 vpu.unary"), std::string::npos) << msg;
  EXPECT_NE(msg.find("semaphore 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dma1 at #0 dma.copy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("semaphore 2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("mxu at"), std::string::npos) << "mxu ended and is not blocked: " << msg;
}

TEST(RunFunctional, AccessOutsideRegionsIsAFault) {
  auto p = relu_program();
  p.dram_bytes = 4096;
  p.queues[3][0].d_addr = 0x200;  // not in any region
  auto msg = fault_message(p, {Tensor::from_floats({8}, std::vector<float>(8, 1))});
  EXPECT_NE(msg.find("dma1 instruction #0 dma.copy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("writes dram [0x200, 0x220)"), std::string::npos) << msg;
  // Writing the read-only input region names it.
  p.queues[3][0].d_addr = 0;
  msg = fault_message(p, {Tensor::from_floats({8}, std::vector<float>(8, 1))});
  EXPECT_NE(msg.find("read-only region 'x'"), std::string::npos) << msg;
}

TEST(RunFunctional, InputsQuantizedToTheBinding) {
  isa::Program p;
  p.queues.resize(3);
  for (auto& q : p.queues) q = {end_instr()};
  p.inputs.push_back({"x", DType::I8, {3}, 16, 0.5f, 1});
  p.outputs.push_back({"y", DType::I8, {3}, 16, 0.5f, 1});  // same bytes: read back as stored
  p.dram_bytes = 64;
  auto out = kernels::run_functional(p, {Tensor::from_floats({3}, {1.0f, -1.25f, 100.0f})});
  std::vector<int8_t> got(out[0].ptr<int8_t>(), out[0].ptr<int8_t>() + 3);
  EXPECT_EQ(got, (std::vector<int8_t>{3, -1, 127}));  // round(v/0.5) + 1, half to even, saturated
  EXPECT_THROW(kernels::run_functional(p, {Tensor::from_floats({2}, {1, 2})}), Error);
}

#ifdef CARDSIM_TEST_HOST_OPS
#include "compiler/frontend/node_io.h"

TEST(RunFunctional, HostCallRunsTheReferenceKernel) {
  isa::Program p;
  p.queues.resize(3);
  isa::Instr call;
  call.op = Opcode::HostCall;
  call.id = 0;
  p.queues[0] = {end_instr()};
  p.queues[1] = {end_instr()};
  p.queues[2] = {call, end_instr()};
  ir::Node node;
  node.name = "softmax0";
  node.op_type = "Softmax";
  node.inputs = {"x"};
  node.outputs = {"y"};
  isa::HostOp op;
  op.op_type = "Softmax";
  op.node = serialize_node(node);
  op.inputs.push_back({DType::F32, {1, 3}, 0});
  op.outputs.push_back({DType::F32, {1, 3}, 64});
  p.host_ops.push_back(op);
  p.inputs.push_back({"x", DType::F32, {1, 3}, 0, 0.0f, 0});
  p.outputs.push_back({"y", DType::F32, {1, 3}, 64, 0.0f, 0});
  p.dram_bytes = 128;
  auto out = kernels::run_functional(p, {Tensor::from_floats({1, 3}, {0.0f, 1.0f, 2.0f})});
  const double e0 = 1, e1 = std::exp(1.0), e2 = std::exp(2.0), z = e0 + e1 + e2;
  EXPECT_NEAR(out[0].ptr<float>()[0], e0 / z, 1e-6);
  EXPECT_NEAR(out[0].ptr<float>()[1], e1 / z, 1e-6);
  EXPECT_NEAR(out[0].ptr<float>()[2], e2 / z, 1e-6);
  // An id past the table is a fault naming it.
  p.queues[2][0].id = 3;
  EXPECT_THROW(kernels::run_functional(p, {Tensor::from_floats({1, 3}, {0.0f, 1.0f, 2.0f})}), Error);
}
// An operand with dtype Undefined is an omitted optional input (ISA.md, host.call): the
// reference kernel must get nullptr for it. Clip(x, <no min>, max=1.5) clamps only above.
TEST(RunFunctional, HostCallOmittedOptionalInputIsNull) {
  isa::Program p;
  p.queues.resize(3);
  isa::Instr call;
  call.op = Opcode::HostCall;
  call.id = 0;
  p.queues[0] = {end_instr()};
  p.queues[1] = {end_instr()};
  p.queues[2] = {call, end_instr()};
  ir::Node node;
  node.name = "clip0";
  node.op_type = "Clip";
  node.inputs = {"x", "", "max"};
  node.outputs = {"y"};
  isa::HostOp op;
  op.op_type = "Clip";
  op.node = serialize_node(node);
  op.inputs.push_back({DType::F32, {4}, 0});
  op.inputs.push_back({DType::Undefined, {}, 0});
  op.inputs.push_back({DType::F32, {}, 32});
  op.outputs.push_back({DType::F32, {4}, 64});
  p.host_ops.push_back(op);
  p.inputs.push_back({"x", DType::F32, {4}, 0, 0.0f, 0});
  p.inputs.push_back({"max", DType::F32, {}, 32, 0.0f, 0});
  p.outputs.push_back({"y", DType::F32, {4}, 64, 0.0f, 0});
  p.dram_bytes = 128;
  Tensor max_value = Tensor::from_floats({}, {1.5f});
  auto out = kernels::run_functional(p, {Tensor::from_floats({4}, {-7.0f, 0.25f, 1.5f, 9.0f}), max_value});
  ASSERT_EQ(out.size(), 1u);
  const float* y = out[0].ptr<float>();
  EXPECT_EQ(y[0], -7.0f);  // no lower bound
  EXPECT_EQ(y[1], 0.25f);
  EXPECT_EQ(y[2], 1.5f);
  EXPECT_EQ(y[3], 1.5f);
}
#endif
