// The cardsim instruction set: ONE definition (the field table and the opcode table in
// isa.cc) drives the encoder, decoder, assembler, disassembler and the spec's tables.
// Semantics of every instruction are written as short loops in isa/ISA.md.
#pragma once
#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cardsim::isa {

constexpr uint32_t kIsaVersion = 1;

// Address spaces an instruction can name. Addresses are byte addresses within the space.
enum class Space : uint8_t { Host = 0, Dram = 1, Sram = 2, Acc = 3 };

// Engines (instruction queues). A program has one stream per queue:
// queue 0 = matrix unit, 1 = vector unit, 2 + c = DMA channel c.
enum class Engine : uint8_t { Mxu = 0, Vpu = 1, Dma = 2, Any = 3 };
constexpr int kQueueMxu = 0, kQueueVpu = 1, kQueueDma0 = 2;
std::string queue_name(int queue);  // "mxu", "vpu", "dma0", ...

// Function selectors of vector-unit / DMA instructions.
enum class Fn : uint8_t {
  // unary (vpu.unary); alpha/beta are f32 parameters
  Copy = 0, Relu, LeakyRelu /*alpha*/, Clip /*alpha=lo, beta=hi*/, Sigmoid, HardSigmoid /*alpha,beta*/,
  HardSwish, Tanh, Erf, Exp, Log, Sqrt, Recip, Neg, Abs, Gelu, Floor, Ceil, Round,
  // binary (vpu.binary)
  Add = 32, Sub, Mul, Div, Max, Min, Pow, Equal, Less, Greater, PRelu /*a<0 ? a*b : a*/,
  // reductions over dimension 0 (vpu.reduce)
  Sum = 64, Mean, RMax, RMin, SumSq,
  // pooling (vpu.pool)
  MaxPool = 80, AvgPool /*beta != 0: count padding*/,
};
std::string_view fn_name(Fn f);

// Matrix-unit dataflows.
enum class Dataflow : uint8_t { WS = 0, OS = 1, IS = 2 };

// Every field any instruction may carry. Kind: U unsigned, S signed, F float32 (stored as
// bits), E enumeration printed by name. Bits: width in the encoding.
//   X(name, kind, bits, "doc")
// (The macro parameter must not be called F: it would capture the kind F of float fields.)
#define CARDSIM_ISA_FIELDS(X)                                                              \
  X(wait, U, 8, "semaphore to wait on (decrement) before starting, 0 = none")              \
  X(signal, U, 8, "semaphore to signal (increment) after finishing, 0 = none")             \
  X(layer, U, 16, "index of the network layer this instruction belongs to")              \
  X(sem, U, 8, "semaphore index")                                                          \
  X(count, U, 16, "semaphore count")                                                       \
  X(id, U, 32, "barrier id / host op index / interrupt code")                              \
  X(fn, E, 8, "function selector")                                                         \
  X(df, E, 2, "matrix-unit dataflow: ws, os, is")                                          \
  X(acc, U, 1, "1 = accumulate into the accumulator, 0 = overwrite")                     \
  X(dtype, E, 5, "element type of the computation")                                        \
  X(n0, U, 24, "extent of dimension 0 (innermost)")                                        \
  X(n1, U, 24, "extent of dimension 1")                                                    \
  X(n2, U, 24, "extent of dimension 2")                                                    \
  X(n3, U, 24, "extent of dimension 3 (outermost)")                                        \
  X(d_space, E, 2, "destination space")                                                    \
  X(d_addr, U, 40, "destination byte address")                                             \
  X(d_type, E, 5, "destination element type")                                              \
  X(d_s0, S, 32, "destination stride of dim 0, elements")                                  \
  X(d_s1, S, 32, "destination stride of dim 1, elements")                                  \
  X(d_s2, S, 32, "destination stride of dim 2, elements")                                  \
  X(d_s3, S, 32, "destination stride of dim 3, elements")                                  \
  X(d_scale, F, 32, "destination quantization scale (0 = not quantized)")                  \
  X(d_zp, S, 32, "destination zero point")                                                 \
  X(a_space, E, 2, "source A space")                                                       \
  X(a_addr, U, 40, "source A byte address")                                                \
  X(a_type, E, 5, "source A element type")                                                 \
  X(a_s0, S, 32, "source A stride of dim 0, elements")                                     \
  X(a_s1, S, 32, "source A stride of dim 1, elements")                                     \
  X(a_s2, S, 32, "source A stride of dim 2, elements")                                     \
  X(a_s3, S, 32, "source A stride of dim 3, elements")                                     \
  X(a_scale, F, 32, "source A quantization scale (0 = not quantized)")                     \
  X(a_zp, S, 32, "source A zero point")                                                    \
  X(b_space, E, 2, "source B space")                                                       \
  X(b_addr, U, 40, "source B byte address")                                                \
  X(b_type, E, 5, "source B element type")                                                 \
  X(b_s0, S, 32, "source B stride of dim 0, elements")                                     \
  X(b_s1, S, 32, "source B stride of dim 1, elements")                                     \
  X(b_s2, S, 32, "source B stride of dim 2, elements")                                     \
  X(b_s3, S, 32, "source B stride of dim 3, elements")                                     \
  X(b_scale, F, 32, "source B quantization scale (0 = not quantized)")                     \
  X(b_zp, S, 32, "source B zero point")                                                    \
  X(alpha, F, 32, "function parameter alpha")                                              \
  X(beta, F, 32, "function parameter beta")                                                \
  X(cbytes, U, 32, "compressed source bytes actually read (0 = uncompressed)")             \
  X(in_c, U, 16, "conv input channels in this tile (K per window position)")               \
  X(in_h, U, 16, "conv input tile height")                                                 \
  X(in_w, U, 24, "conv input tile width")                                                  \
  X(out_h, U, 16, "conv output tile height")                                               \
  X(out_w, U, 24, "conv output tile width")                                                \
  X(out_c, U, 16, "conv output channels in this tile (N)")                                 \
  X(k_h, U, 8, "kernel height")                                                            \
  X(k_w, U, 8, "kernel width")                                                             \
  X(st_h, U, 8, "stride along height")                                                     \
  X(st_w, U, 8, "stride along width")                                                      \
  X(dl_h, U, 8, "dilation along height")                                                   \
  X(dl_w, U, 8, "dilation along width")                                                    \
  X(pad_t, S, 8, "rows of padding above the tile (window origin offset)")                  \
  X(pad_l, S, 8, "columns of padding left of the tile")                                    \
  X(pad_b, S, 8, "rows of padding below (pooling only)")                                   \
  X(pad_r, S, 8, "columns of padding right (pooling only)")                                \
  X(c_space, E, 2, "per-channel parameter space (bias / multiplier table)")                \
  X(c_addr, U, 40, "per-channel parameter byte address (0xFFFFFFFFFF = none)")             \
  X(c_dim, U, 2, "which iteration dimension indexes the per-channel parameters")           \
  X(shift, U, 8, "requantization right shift (per-tensor; per-channel comes from c_addr)") \
  X(mult, S, 32, "requantization multiplier (per-tensor)")

enum class FieldId : uint8_t {
#define CARDSIM_FIELD_ENUM(name, kind, bits, doc) name,
  CARDSIM_ISA_FIELDS(CARDSIM_FIELD_ENUM)
#undef CARDSIM_FIELD_ENUM
  kCount
};
constexpr int kNumFields = int(FieldId::kCount);

enum class FieldKind : uint8_t { U, S, F, E };
struct FieldInfo {
  std::string_view name;
  FieldKind kind;
  int bits;
  std::string_view doc;
};
const FieldInfo& field_info(FieldId f);

enum class Opcode : uint8_t {
  Nop = 0,
  End,         // end of this queue's stream
  SemWait,     // wait until semaphore `sem` >= count, then subtract count
  SemSignal,   // add count to semaphore `sem`
  Barrier,     // all queues meet at barrier `id`
  Irq,         // raise host interrupt `id` (completion)
  HostCall,    // run host operation `id` on the host model; queue waits for completion
  DmaCopy,     // strided 4-D copy with cast / (de)quantization
  DmaFill,     // fill a strided 4-D region with alpha
  MxuConv,     // tiled convolution / matmul into the accumulator
  VpuUnary,    // elementwise unary function
  VpuBinary,   // elementwise binary function with broadcasting by zero strides
  VpuRequant,  // accumulator -> activation: + per-channel bias, scale, zero point, clamp
  VpuReduce,   // reduce dimension 0
  VpuPool,     // 2-D max / average pooling
  kCount
};
constexpr int kNumOpcodes = int(Opcode::kCount);

struct OpcodeInfo {
  Opcode op;
  std::string_view mnemonic;
  Engine engine;
  std::vector<FieldId> fields;  // fields besides wait/signal/layer, in encoding order
  std::string_view doc;
};
const OpcodeInfo& opcode_info(Opcode op);
const OpcodeInfo* opcode_by_mnemonic(std::string_view m);

// An instruction in decoded form: the opcode and all fields (unused ones are zero).
// Float fields hold their value; they are encoded as IEEE binary32 bits.
#define CARDSIM_FT_U int64_t
#define CARDSIM_FT_S int64_t
#define CARDSIM_FT_E int64_t
#define CARDSIM_FT_F float
struct Instr {
  Opcode op = Opcode::Nop;
#define CARDSIM_FIELD_MEMBER(name, kind, bits, doc) CARDSIM_FT_##kind name = 0;
  CARDSIM_ISA_FIELDS(CARDSIM_FIELD_MEMBER)
#undef CARDSIM_FIELD_MEMBER
  bool operator==(const Instr&) const = default;
};
// Generic access by field id (double holds every 40-bit address exactly).
double get_field(const Instr& in, FieldId f);
void set_field(Instr& in, FieldId f, double v);

constexpr uint64_t kNoAddr = 0xFFFFFFFFFFull;  // c_addr value meaning "no parameters"

// ---- Added by the isa/ implementation (names of enumerations, used by the assembler,
// disassembler and the generated spec tables). Parsers return nullopt for unknown names.
std::string_view space_name(Space s);          // "host", "dram", "sram", "acc"
std::string_view dataflow_name(Dataflow d);    // "ws", "os", "is"
std::optional<Space> space_from_name(std::string_view n);
std::optional<Dataflow> dataflow_from_name(std::string_view n);
std::optional<Fn> fn_from_name(std::string_view n);
std::optional<int> queue_from_name(std::string_view n);  // "mxu" -> 0, "vpu" -> 1, "dma3" -> 5
std::string_view engine_name(Engine e);        // "mxu", "vpu", "dma", "any"
bool engine_runs_on_queue(Engine e, int queue);

// Which enumeration an E-kind field holds.
enum class EnumSet : uint8_t { None, Space, DType, Fn, Dataflow };
EnumSet enum_set_of(FieldId f);
// Name of value v of field f ("" if v is not a valid value of its enumeration).
std::string_view enum_value_name(FieldId f, int64_t v);
std::optional<int64_t> enum_value_from_name(FieldId f, std::string_view n);
// All valid (value, name) pairs of an enumeration, ascending by value.
std::vector<std::pair<int64_t, std::string_view>> enum_values(EnumSet s);

std::optional<FieldId> field_by_name(std::string_view n);
bool opcode_has_field(Opcode op, FieldId f);  // wait/signal/layer: always true
// Empty if value v fits field f (range for U/S, valid enumeration value for E), else a
// sentence naming the field, the value and the allowed range.
std::string field_value_problem(FieldId f, double v);

}  // namespace cardsim::isa
