// SCALE-Sim compatibility: reads SCALE-Sim v2/v3's own config (scale.cfg) and topology CSVs
// (convolution rows and `-i gemm` M,N,K rows), reproduces its stall-free compute cycles
// exactly (DESIGN.md "Reference figures"), runs the same layers on cardsim's own card model,
// and writes SCALE-Sim's COMPUTE_REPORT.csv plus a side-by-side comparison with reasons.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "sim/card_config.h"

namespace cardsim::scalesim {

// [general] / [architecture_presets] / [run_presets] of a scale.cfg. Keys SCALE-Sim has and
// cardsim does not model (sparsity, custom layouts, bank counts) are read and ignored.
struct ScaleConfig {
  std::string origin;                   // file the config came from
  std::string run_name = "scale_run";
  int array_height = 32, array_width = 32;
  double ifmap_sram_kb = 64, filter_sram_kb = 64, ofmap_sram_kb = 64;
  uint64_t ifmap_offset = 0, filter_offset = 10000000, ofmap_offset = 20000000;
  std::string dataflow = "os";          // os | ws | is
  double bandwidth_words = 10;          // DRAM words/cycle (USER mode)
  std::string interface_bandwidth = "CALC";  // USER | CALC
};
ScaleConfig parse_config(const std::string& path);
ScaleConfig parse_config_text(const std::string& text, const std::string& origin);

// One topology row as SCALE-Sim reads it (a GEMM row M,N,K becomes ifmap M x K, filter 1 x K,
// 1 channel, N filters, stride 1 — SCALE-Sim's own mapping).
struct Layer {
  std::string name;
  int64_t ifmap_h = 1, ifmap_w = 1, filter_h = 1, filter_w = 1, channels = 1, num_filters = 1;
  int64_t stride_h = 1, stride_w = 1;
  bool gemm = false;        // came from an M,N,K row
  int64_t M = 0, N = 0, K = 0;  // the GEMM row as written (gemm only)

  // SCALE-Sim: ofmap = ceil((ifmap - filter + stride) / stride) — a partial window at the
  // far edge counts (ResNet's 224x224 7x7/2 stem gives 110, not ONNX's 109).
  int64_t ofmap_h() const { return (ifmap_h - filter_h + 2 * stride_h - 1) / stride_h; }
  int64_t ofmap_w() const { return (ifmap_w - filter_w + 2 * stride_w - 1) / stride_w; }
  int64_t pixels() const { return ofmap_h() * ofmap_w(); }
  int64_t window() const { return filter_h * filter_w * channels; }
  uint64_t macs() const { return uint64_t(pixels()) * uint64_t(window()) * uint64_t(num_filters); }
};
// `gemm`: the file holds `Layer Name, M, N, K,` rows (SCALE-Sim's `-i gemm`). Depthwise rows
// (name containing "DP") expand into one single-channel layer per channel, as SCALE-Sim does.
std::vector<Layer> parse_topology(const std::string& path, bool gemm);
std::vector<Layer> parse_topology_text(const std::string& text, const std::string& origin, bool gemm);

// SCALE-Sim's stall-free compute figures for one layer on an R x C array.
struct CompatResult {
  uint64_t Sr = 0, Sc = 0, T = 0;
  uint64_t folds = 0, cycles_per_fold = 0;
  uint64_t total_cycles = 0;           // folds * cycles_per_fold - 1
  double overall_util_pct = 0;         // MACs / (total * R * C)
  double mapping_eff_pct = 0;          // mean over folds of used PEs / (R * C)
  double compute_util_pct = 0;         // mean over folds of used PEs * T / (R * C * fold cycles)
};
CompatResult compat_timing(const Layer& l, int rows, int cols, const std::string& dataflow);

// cardsim's own figures for one layer.
struct CardsimResult {
  bool ok = false;
  std::string error;                   // why the layer could not run (capacity, unsupported)
  uint64_t total_cycles = 0;           // card window: first doorbell to completion
  uint64_t mxu_busy_cycles = 0;        // matrix-unit busy cycles (sum over its instructions)
  uint64_t mxu_instructions = 0;       // mxu.conv tiles the compiler emitted
  uint64_t mxu_mem_stall_cycles = 0;   // matrix unit waiting for memory
  uint64_t mxu_sync_stall_cycles = 0;  // matrix unit waiting for its operands' DMA (semaphores)
  uint64_t dram_bytes = 0;
  uint64_t bank_conflicts = 0;         // SRAM + accumulator
  uint64_t whole_layer_cycles = 0;     // cardsim's fold formula on the untiled layer
  uint64_t macs = 0;
  double stall_cycles() const { return double(total_cycles) - double(mxu_busy_cycles); }
};

// A card for the scale.cfg: `base` (preset or path) with the array, the dataflow, int8, and
// SRAM = ifmap + filter SRAM, accumulators = ofmap SRAM (never below what one tile needs:
// raised to `min_sram_bytes` / `min_acc_bytes` so that every layer compiles; the report says so).
CardConfig card_config_for(const ScaleConfig& sc, const std::string& base, uint64_t min_sram_bytes = 0,
                           uint64_t min_acc_bytes = 0);

// A one-layer graph: Conv or MatMul [M,K]x[K,N], with seeded weights. The input is SCALE-Sim's
// (pre-padded) ifmap; the conv pads only the far edge by edge_padding() so that it has
// SCALE-Sim's ofmap size (its ceil counts a partial edge window).
ir::Graph layer_graph(const Layer& l);
int64_t edge_padding_h(const Layer& l);
int64_t edge_padding_w(const Layer& l);

// Compiles the layer for `cfg` (int8) and runs it in timing mode on the card model in a
// forked child (one SystemC elaboration per layer). Never throws for a layer that does not
// fit or is unsupported: ok = false with the message.
CardsimResult run_on_card(const Layer& l, const CardConfig& cfg);

// Why cardsim and SCALE-Sim differ on a layer, with the signed cycle contribution of each
// cause (fold overlap, SCALE-Sim's -1, tiling, DRAM/DMA stalls, bank conflicts).
std::string explain_difference(const Layer& l, const CompatResult& compat, const CardsimResult& card,
                               const CardConfig& cfg);

// Writes DIR/COMPUTE_REPORT.csv with SCALE-Sim's columns (LayerID, Total Cycles, Stall Cycles,
// Overall Util %, Mapping Efficiency %, Compute Util %). When `card` is given (same size as
// layers), DIR/COMPARISON.csv holds both columns and the reason per layer, and the
// COMPUTE_REPORT figures are cardsim's own (stalls = cycles beyond the matrix unit's).
void write_reports(const std::string& dir, const ScaleConfig& sc, const std::vector<Layer>& layers,
                   const std::vector<CompatResult>& compat, const std::vector<CardsimResult>* card,
                   const CardConfig* cfg);

}  // namespace cardsim::scalesim
