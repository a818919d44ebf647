// SCALE-Sim compatibility: the compat cycles against SCALE-Sim's published figure and an
// independent re-implementation (gen_expected.py), hand-calculated layers, parsing of SCALE-
// Sim's own file formats and their errors, and a one-layer run on the card model.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "sim/scalesim/scalesim.h"

using namespace cardsim;
using namespace cardsim::scalesim;

namespace {

#include "tests/scalesim/expected_cycles.inc"

const std::string kDir = std::string(CARDSIM_SOURCE_DIR) + "/configs/scalesim/";

uint64_t total(const std::vector<Layer>& ls, int n, const std::string& df) {
  uint64_t t = 0;
  for (const auto& l : ls) t += compat_timing(l, n, n, df).total_cycles;
  return t;
}

TEST(ScaleSimCompat, ResNet18At32x32OsIsThePublishedFigure) {
  // DESIGN.md: full ResNet-18 at 32x32 OS is 1,718,353 cycles in SCALE-Sim v2.
  auto ls = parse_topology(kDir + "resnet18.csv", false);
  ASSERT_EQ(ls.size(), 21u);
  EXPECT_EQ(total(ls, 32, "os"), 1718353u);
}

TEST(ScaleSimCompat, EveryShippedLayerMatchesTheIndependentReference) {
  struct Case {
    const char* net;
    int n;
    const char* df;
    const uint64_t* expect;
    size_t count;
  };
#define CASE(net, n, df) Case{#net, n, #df, k_##net##_##n##_##df, std::size(k_##net##_##n##_##df)}
  const Case cases[] = {CASE(resnet18, 32, os),  CASE(resnet18, 32, ws),  CASE(resnet18, 32, is),
                        CASE(resnet18, 128, os), CASE(resnet18, 128, ws), CASE(resnet18, 128, is),
                        CASE(resnet50, 32, os),  CASE(resnet50, 32, ws),  CASE(resnet50, 32, is),
                        CASE(resnet50, 128, os), CASE(resnet50, 128, ws), CASE(resnet50, 128, is)};
#undef CASE
  for (const Case& c : cases) {
    auto ls = parse_topology(kDir + c.net + ".csv", false);
    ASSERT_EQ(ls.size(), c.count) << c.net;
    for (size_t i = 0; i < ls.size(); ++i)
      EXPECT_EQ(compat_timing(ls[i], c.n, c.n, c.df).total_cycles, c.expect[i])
          << c.net << " " << c.n << "x" << c.n << " " << c.df << " layer " << i << " " << ls[i].name;
  }
}

TEST(ScaleSimCompat, HandCalculatedConv1) {
  // Conv1: 224x224, 7x7, 3 ch, 64 filters, stride 2 -> SCALE-Sim's ofmap ceil((224-7+2)/2) =
  // ceil(109.5) = 110 (ONNX would say 109), P = 12100, W = 147.
  // 32x32 OS: folds = ceil(12100/32) * ceil(64/32) = 379 * 2 = 758, fold = 147+32+32-2 = 209
  // -> 758*209 - 1 = 158421.
  Layer l{"Conv1", 224, 224, 7, 7, 3, 64, 2, 2};
  EXPECT_EQ(l.ofmap_h(), 110);
  EXPECT_EQ(edge_padding_h(l), 1);  // (110-1)*2 + 7 - 224
  auto os = compat_timing(l, 32, 32, "os");
  EXPECT_EQ(os.folds, 758u);
  EXPECT_EQ(os.cycles_per_fold, 209u);
  EXPECT_EQ(os.total_cycles, 158421u);
  // WS: Sr = 147, Sc = 64, T = 12100: folds = 5 * 2 = 10, fold = 64+32+12100-2 = 12194 -> 121939.
  EXPECT_EQ(compat_timing(l, 32, 32, "ws").total_cycles, 121939u);
  // IS: Sr = 147, Sc = 12100, T = 64: folds = 5 * 379 = 1895, fold = 64+32+64-2 = 158 -> 299409.
  EXPECT_EQ(compat_timing(l, 32, 32, "is").total_cycles, 299409u);
  // Utilisation: MACs = 12100*147*64 = 113,836,800 over 158421 cycles x 1024 PEs.
  EXPECT_NEAR(os.overall_util_pct, 100.0 * 113836800.0 / (158421.0 * 1024.0), 1e-9);
  // Mapping: 378 full row folds + one with 12100 - 378*32 = 4 rows, both column folds full.
  EXPECT_NEAR(os.mapping_eff_pct, 100.0 * (378.0 + 4.0 / 32.0) / 379.0, 1e-9);
}

TEST(ScaleSimCompat, GemmRowsUseScaleSimsMapping) {
  // `-i gemm`: M,N,K -> ifmap M x K, filter 1 x K, 1 channel, N filters: P = M, W = K.
  auto ls = parse_topology_text("Layer Name, M, N, K,\nTest 1, 256, 128, 256,\n", "t.csv", true);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0].pixels(), 256);
  EXPECT_EQ(ls[0].window(), 256);
  EXPECT_EQ(ls[0].num_filters, 128);
  // 32x32 OS: folds 8*4 = 32, fold 256+62 = 318 -> 10175.
  EXPECT_EQ(compat_timing(ls[0], 32, 32, "os").total_cycles, 10175u);
  EXPECT_EQ(ls[0].macs(), 256u * 128u * 256u);
}

TEST(ScaleSimParse, ConfigFile) {
  auto c = parse_config(kDir + "scale.cfg");
  EXPECT_EQ(c.run_name, "scale_example_run_32x32_os");
  EXPECT_EQ(c.array_height, 32);
  EXPECT_EQ(c.array_width, 32);
  EXPECT_EQ(c.dataflow, "os");
  EXPECT_EQ(c.ifmap_sram_kb, 64);
  EXPECT_EQ(c.filter_offset, 10000000u);
  EXPECT_EQ(c.interface_bandwidth, "CALC");
  // Both separators and any key case, unknown keys of SCALE-Sim's layout model ignored.
  auto d = parse_config_text(
      "[general]\nrun_name = x\n[architecture_presets]\narrayheight = 8\nArrayWidth: 16\nDataflow : WS\n"
      "IfmapSRAMBankNum: 10\n[run_presets]\nInterfaceBandwidth: USER\n",
      "d.cfg");
  EXPECT_EQ(d.array_height, 8);
  EXPECT_EQ(d.array_width, 16);
  EXPECT_EQ(d.dataflow, "ws");
  EXPECT_EQ(d.interface_bandwidth, "USER");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ScaleSimParse, BadInputNamesFileLineAndField) {
  EXPECT_NE(error_of([] { parse_config_text("[architecture_presets]\nDataflow: xs\n", "a.cfg"); }).find("a.cfg:2"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_config_text("[architecture_presets]\nArrayHeight: 0\n", "a.cfg"); }).find("ArrayHeight"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_config_text("[general]\nrun_name = x\n", "a.cfg"); }).find("architecture_presets"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_topology_text("h\nL1,8,8,3,3,4,abc,1,\n", "t.csv", false); }).find("t.csv:2: Num Filter"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_topology_text("h\nL1,8,8,3,3,4,\n", "t.csv", false); }).find("expected 8 fields"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_topology_text("h\nL1,2,2,3,3,4,4,1,\n", "t.csv", false); }).find("larger than the ifmap"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_topology_text("h\n\n", "t.csv", false); }).find("no layers"), std::string::npos);
  EXPECT_NE(error_of([] { parse_config("/nonexistent/scale.cfg"); }).find("/nonexistent/scale.cfg"), std::string::npos);
}

TEST(ScaleSimParse, TopologyQuirks) {
  // Extra columns (SCALE-Sim's Resnet50.csv has ",,,Eh,Ew,e2"), all-empty rows, a 9th
  // column giving the width stride, depthwise rows expanded per channel.
  auto ls = parse_topology_text(
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,,,Eh\n"
      ",,,,,,,,,,,,\nConv1,224,224,7,7,3,64,2,,,110\nR,9,12,3,3,2,4,1,3,\nDP1,8,8,3,3,3,1,1,\n",
      "t.csv", false);
  ASSERT_EQ(ls.size(), 5u);
  EXPECT_EQ(ls[0].stride_w, 2);
  EXPECT_EQ(ls[1].stride_h, 1);
  EXPECT_EQ(ls[1].stride_w, 3);
  EXPECT_EQ(ls[1].ofmap_w(), 4);  // ceil((12-3+3)/3)
  EXPECT_EQ(ls[2].name, "DP1Channel_0");
  EXPECT_EQ(ls[4].channels, 1);
}

TEST(ScaleSimReport, ComputeReportColumns) {
  auto dir = std::filesystem::temp_directory_path() / "cardsim_scalesim_test";
  std::filesystem::remove_all(dir);
  ScaleConfig sc;
  auto ls = parse_topology(kDir + "resnet18.csv", false);
  std::vector<CompatResult> r;
  for (auto& l : ls) r.push_back(compat_timing(l, 32, 32, "os"));
  write_reports(dir.string(), sc, ls, r, nullptr, nullptr);
  std::ifstream f(dir / "COMPUTE_REPORT.csv");
  std::string header, first;
  std::getline(f, header);
  std::getline(f, first);
  EXPECT_EQ(header, "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,");
  EXPECT_EQ(first.substr(0, 13), "0, 158421, 0,");
  std::filesystem::remove_all(dir);
}

TEST(ScaleSimCardsim, OneLayerOnTheCardModel) {
  // A small conv on a 32x32 WS card: the card model runs it; its matrix-unit cycles can never
  // beat the compute bound (MACs / PEs), and the reason string names the fold overlap.
  ScaleConfig sc = parse_config_text("[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\nDataflow: ws\n", "x.cfg");
  Layer l{"L", 16, 16, 3, 3, 64, 64, 1, 1};
  CardConfig cfg = card_config_for(sc, "default");
  EXPECT_EQ(cfg.matrix.rows, 32);
  EXPECT_EQ(cfg.sram.size_bytes, 128u * 1024u);
  CardsimResult k = run_on_card(l, cfg);
  ASSERT_TRUE(k.ok) << k.error;
  const double bound = double(l.macs()) / (32.0 * 32.0);
  EXPECT_GE(double(k.mxu_busy_cycles), bound);
  EXPECT_GE(k.total_cycles, k.mxu_busy_cycles);
  // cardsim's untiled formula with double-buffered weights, folds pipelined:
  // R + (folds - 1) * max(T, R) + (T + R + C - 2): Sr = 576 -> 18 row folds, Sc = 64 -> 2,
  // T = 196: 32 + 35 * 196 + (196 + 32 + 32 - 2) = 7150.
  EXPECT_EQ(k.whole_layer_cycles, 7150u);
  auto compat = compat_timing(l, 32, 32, "ws");
  EXPECT_EQ(compat.total_cycles, 36u * (64 + 32 + 196 - 2) - 1);
  std::string why = explain_difference(l, compat, k, cfg);
  EXPECT_NE(why.find("fold overlap"), std::string::npos) << why;
}

}  // namespace
