// A compiled program as the card sees it: per-queue instruction streams plus everything
// the host driver needs to load and run it. Serialized as a .cbin loadable (loadable.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "isa/isa.h"

namespace cardsim::isa {

// A network input or output as it lives in card DRAM (row-major, ONNX logical layout).
struct TensorBinding {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t dram_addr = 0;
  float scale = 0.0f;   // quantization scale, 0 = not quantized
  int32_t zero_point = 0;
  bool operator==(const TensorBinding&) const = default;
};

// A memory region the program may touch; anything else is an access fault.
struct Region {
  std::string name;
  Space space = Space::Dram;
  uint64_t base = 0;
  uint64_t size = 0;
  bool writable = true;
  bool operator==(const Region&) const = default;
};

// One network layer (graph node after fusion); instructions carry its index.
struct LayerInfo {
  std::string name;
  std::string op;
  uint64_t macs = 0;
  std::string placement;  // "card" or "host"
  bool operator==(const LayerInfo&) const = default;
};

// A tensor operand of a host operation, in card DRAM.
struct HostTensorRef {
  DType dtype = DType::F32;
  Shape shape;
  uint64_t dram_addr = 0;
  bool operator==(const HostTensorRef&) const = default;
};

// An operation the card cannot run: executed by the host model (reference kernels), its
// operands crossing PCIe both ways. `node` is the serialized ONNX NodeProto.
struct HostOp {
  std::string op_type;
  int opset = 13;
  std::vector<uint8_t> node;
  std::vector<HostTensorRef> inputs, outputs;
  bool operator==(const HostOp&) const = default;
};

struct Program {
  uint32_t isa_version = kIsaVersion;
  std::vector<std::vector<Instr>> queues;  // [0]=mxu, [1]=vpu, [2+c]=dma channel c
  uint32_t num_semaphores = 64;
  // Constant image (weights, biases, tables) copied into DRAM at `constants_addr` at load.
  uint64_t constants_addr = 0;
  std::vector<uint8_t> constants;
  std::vector<TensorBinding> inputs, outputs;
  std::vector<Region> regions;
  std::vector<LayerInfo> layers;
  std::vector<HostOp> host_ops;
  std::map<std::string, std::string> metadata;  // model_sha256, precision, options, cardsim_version
  uint64_t dram_bytes = 0, sram_bytes = 0, acc_bytes = 0;  // footprint

  bool operator==(const Program&) const = default;
};

}  // namespace cardsim::isa
