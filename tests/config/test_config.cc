// Card configuration: presets, extends, overrides, defaults, energy scaling, every error
// class, deterministic output and the generated reference in docs/CONFIG.md.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "sim/card_config.h"
#include "sim/config/config.h"
#ifdef CARDSIM_CONFIG_HAVE_DRAM
#include "models/dram/dram_model.h"
#endif

namespace cardsim {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A scratch directory per test, removed afterwards.
class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("cardsim_config_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

// Runs fn, expects Error(Config) whose message contains every fragment.
void expect_config_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected Error(Config) containing '" << fragments.front() << "', nothing thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config) << e.what();
    for (const std::string& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "message: " << e.what() << "\nmissing: " << f;
  }
}

CardConfig from(const std::string& text) { return config_from_json(json::parse(text), "test.json"); }

// ---------------------------------------------------------------------------------------
// Presets

TEST(ConfigPresets, EveryPresetLoadsAndValidates) {
  const std::vector<std::string> presets = config_presets();
  for (const char* name : {"default", "edge", "tpu-v1", "scalesim-32x32"}) {
    EXPECT_NE(std::find(presets.begin(), presets.end(), name), presets.end()) << name;
    CardConfig cfg = load_config(resolve_config_path(name));
    EXPECT_EQ(cfg.name, name);
    EXPECT_TRUE(cfg.effective.is_object());
  }
}

TEST(ConfigPresets, DefaultIsTheDatacenterCard) {
  CardConfig c = load_config(resolve_config_path("default"));
  EXPECT_EQ(c.matrix.rows, 128);
  EXPECT_EQ(c.matrix.cols, 128);
  EXPECT_DOUBLE_EQ(c.clock_ghz, 1.0);
  EXPECT_EQ(c.sram.size_bytes, 24ull * 1024 * 1024);
  EXPECT_EQ(c.dram.standard, "HBM2e");
  EXPECT_EQ(c.pcie.gen, 4);
  EXPECT_EQ(c.pcie.lanes, 16);
  EXPECT_DOUBLE_EQ(c.energy.dram_pj_per_bit, 3.9);  // Accelergy HBM2
}

TEST(ConfigPresets, EdgeCard) {
  CardConfig c = load_config(resolve_config_path("edge"));
  EXPECT_EQ(c.matrix.rows, 32);
  EXPECT_EQ(c.sram.size_bytes, 1024ull * 1024);
  EXPECT_EQ(c.dram.standard, "LPDDR4");
  EXPECT_EQ(c.dram.bus_width_bits, 16);  // LPDDR4 x16 channel default
  EXPECT_EQ(c.pcie.gen, 3);
  EXPECT_EQ(c.pcie.lanes, 4);
  EXPECT_DOUBLE_EQ(c.energy.dram_pj_per_bit, 8);
  EXPECT_EQ(c.dma.request_bytes, 64);  // inherited from default through extends
}

TEST(ConfigPresets, TpuV1MatchesThePaper) {
  CardConfig c = load_config(resolve_config_path("tpu-v1"));
  // 256 x 256 MACs x 2 ops x 0.7 GHz = 91.75 TOPS (Jouppi et al. 2017: 92 TOPS).
  const double tops = c.matrix.rows * c.matrix.cols * 2.0 * c.clock_ghz / 1000;
  EXPECT_NEAR(tops, 91.75, 0.01);
  EXPECT_EQ(c.sram.size_bytes, 24ull << 20);
  EXPECT_EQ(c.accumulator.size_bytes, 4ull << 20);
  EXPECT_EQ(c.dram.capacity_bytes, 8ull << 30);
  EXPECT_EQ(c.dram.standard, "DDR3");
  EXPECT_EQ(c.dram.channels * c.dram.bus_width_bits, 128);
  EXPECT_EQ(c.matrix.dtypes, std::vector<std::string>{"i8"});
#ifdef CARDSIM_CONFIG_HAVE_DRAM
  // DDR3-2133: 2133 MT/s x 16 bytes = 34.1 GB/s; the data rate is 2 / tCK.
  ASSERT_GT(c.dram.timing.tCK_ns, 0);
  const double gbps = c.dram.channels * c.dram.bus_width_bits / 8.0 * 2.0 / c.dram.timing.tCK_ns;
  EXPECT_NEAR(gbps, 34.1, 0.3);
#endif
}

#ifdef CARDSIM_CONFIG_HAVE_DRAM
// Peak DRAM bandwidth = channels x bus bytes x transfers per tCK / tCK, as the presets say.
double peak_dram_gbps(const CardConfig& c) {
  return c.dram.channels * c.dram.bus_width_bits / 8.0 * dram::transfers_per_clock(c.dram.standard) /
         c.dram.timing.tCK_ns;
}
TEST(ConfigPresets, DramBandwidthMatchesThePresetDescriptions) {
  EXPECT_NEAR(peak_dram_gbps(load_config("default")), 409.6, 0.5);  // HBM2e 8 x 128 bit x 3.2 Gb/s
  EXPECT_NEAR(peak_dram_gbps(load_config("edge")), 12.8, 0.1);      // LPDDR4-3200 2 x 16 bit
  EXPECT_NEAR(peak_dram_gbps(load_config("tpu-v1")), 34.1, 0.3);    // DDR3-2133 2 x 64 bit
}
#endif

TEST(ConfigPresets, ScaleSimDefaults) {
  CardConfig c = load_config(resolve_config_path("scalesim-32x32"));
  EXPECT_EQ(c.matrix.dataflows, std::vector<std::string>{"os"});
  EXPECT_EQ(c.sram.size_bytes + c.accumulator.size_bytes, 3ull * 64 * 1024);  // 3 x 64 kB
}

TEST(ConfigPresets, ResolvePresetNamesAndPaths) {
  EXPECT_TRUE(resolve_config_path("edge").ends_with("configs/edge.json"));
  EXPECT_EQ(resolve_config_path("some/dir/card.json"), "some/dir/card.json");
  EXPECT_EQ(resolve_config_path("card.json"), "card.json");
  expect_config_error([] { resolve_config_path("edgy"); }, {"unknown card preset 'edgy'", "did you mean 'edge'"});
  EXPECT_EQ(load_config("tpu-v1").name, "tpu-v1");  // load_config takes a preset name too
  expect_config_error([] { load_config("no-such-preset"); }, {"unknown card preset 'no-such-preset'", "default, edge"});
}

// ---------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, SchemaDefaultsAgreeWithTheStructDefaults) {
  const CardConfig built = config_from_json(json::object(), "empty");
  const CardConfig plain;
  EXPECT_EQ(built.name, plain.name);
  EXPECT_EQ(built.clock_ghz, plain.clock_ghz);
  EXPECT_EQ(built.matrix.rows, plain.matrix.rows);
  EXPECT_EQ(built.matrix.cols, plain.matrix.cols);
  EXPECT_EQ(built.matrix.dataflows, plain.matrix.dataflows);
  EXPECT_EQ(built.matrix.dtypes, plain.matrix.dtypes);
  EXPECT_EQ(built.matrix.weight_buffers, plain.matrix.weight_buffers);
  EXPECT_EQ(built.matrix.fp32_rate, plain.matrix.fp32_rate);
  EXPECT_EQ(built.matrix.fp16_rate, plain.matrix.fp16_rate);
  EXPECT_EQ(built.vector.lanes, plain.vector.lanes);
  EXPECT_EQ(built.vector.table_entries, plain.vector.table_entries);
  EXPECT_EQ(built.dma.dma_channels, plain.dma.dma_channels);
  EXPECT_EQ(built.dma.max_outstanding, plain.dma.max_outstanding);
  EXPECT_EQ(built.dma.request_bytes, plain.dma.request_bytes);
  EXPECT_EQ(built.dma.compression, plain.dma.compression);
  EXPECT_EQ(built.dma.setup_cycles, plain.dma.setup_cycles);
  EXPECT_EQ(built.sram.size_bytes, plain.sram.size_bytes);
  EXPECT_EQ(built.sram.banks, plain.sram.banks);
  EXPECT_EQ(built.sram.bank_width_bytes, plain.sram.bank_width_bytes);
  EXPECT_EQ(built.sram.ports, plain.sram.ports);
  EXPECT_EQ(built.accumulator.size_bytes, plain.accumulator.size_bytes);
  EXPECT_EQ(built.accumulator.banks, plain.accumulator.banks);
  EXPECT_EQ(built.dram.standard, plain.dram.standard);
  EXPECT_EQ(built.dram.channels, plain.dram.channels);
  EXPECT_EQ(built.dram.ranks, plain.dram.ranks);
  EXPECT_EQ(built.dram.bank_groups, plain.dram.bank_groups);
  EXPECT_EQ(built.dram.banks_per_group, plain.dram.banks_per_group);
  EXPECT_EQ(built.dram.bus_width_bits, plain.dram.bus_width_bits);
  EXPECT_EQ(built.dram.row_bytes, plain.dram.row_bytes);
  EXPECT_EQ(built.dram.capacity_bytes, plain.dram.capacity_bytes);
  EXPECT_EQ(built.dram.address_mapping, plain.dram.address_mapping);
  EXPECT_EQ(built.dram.page_policy, plain.dram.page_policy);
  EXPECT_EQ(built.dram.scheduler, plain.dram.scheduler);
  EXPECT_EQ(built.dram.refresh, plain.dram.refresh);
  EXPECT_EQ(built.dram.controller_latency_ns, plain.dram.controller_latency_ns);
  EXPECT_EQ(built.pcie.gen, plain.pcie.gen);
  EXPECT_EQ(built.pcie.lanes, plain.pcie.lanes);
  EXPECT_EQ(built.pcie.max_payload, plain.pcie.max_payload);
  EXPECT_EQ(built.pcie.max_read_request, plain.pcie.max_read_request);
  EXPECT_EQ(built.pcie.read_completion, plain.pcie.read_completion);
  EXPECT_EQ(built.pcie.latency_ns, plain.pcie.latency_ns);
  EXPECT_EQ(built.pcie.dma_round_trip_ns, plain.pcie.dma_round_trip_ns);
  EXPECT_EQ(built.energy.technology_nm, plain.energy.technology_nm);
  EXPECT_EQ(built.energy.voltage, plain.energy.voltage);
  EXPECT_EQ(built.energy.dram_pj_per_bit, plain.energy.dram_pj_per_bit);
  EXPECT_EQ(built.energy.pcie_pj_per_bit, plain.energy.pcie_pj_per_bit);
  EXPECT_EQ(built.host.op_gflops, plain.host.op_gflops);
  EXPECT_EQ(built.host.irq_latency_ns, plain.host.irq_latency_ns);
}

TEST(ConfigDefaults, EffectiveHasEverySchemaField) {
  const CardConfig c = config_from_json(json::object(), "empty");
  for (const ConfigField& f : config_schema()) {
    std::string ptr = f.path;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    EXPECT_TRUE(c.effective.contains(json::json_pointer(ptr.insert(0, 1, '/')))) << f.path;
  }
  for (const std::string& k : energy_action_keys()) EXPECT_TRUE(c.energy.actions_pj.count(k)) << k;
  for (const std::string& k : leakage_component_keys()) EXPECT_TRUE(c.energy.leakage_mw.count(k)) << k;
}

TEST(ConfigDefaults, DramGeometryFollowsTheStandard) {
  const CardConfig ddr4 = from(R"({"dram": {"standard": "DDR4", "channels": 2, "capacity_bytes": "8GiB"}})");
  EXPECT_EQ(ddr4.dram.bus_width_bits, 64);
  EXPECT_EQ(ddr4.dram.row_bytes, 8192u);
  EXPECT_EQ(ddr4.dram.bank_groups * ddr4.dram.banks_per_group, 16);
  EXPECT_DOUBLE_EQ(ddr4.energy.dram_pj_per_bit, 15);
  // An explicit field wins over the standard's default.
  const CardConfig wide = from(R"({"dram": {"standard": "DDR4", "bus_width_bits": 32, "capacity_bytes": "8GiB"}})");
  EXPECT_EQ(wide.dram.bus_width_bits, 32);
}

#ifdef CARDSIM_CONFIG_HAVE_DRAM
TEST(ConfigDefaults, TimingFromSpeedGradeExplicitFieldsWin) {
  const CardConfig graded = from(R"({})");
  EXPECT_GT(graded.dram.timing.tCK_ns, 0);
  EXPECT_GT(graded.dram.timing.tRCD, 0);
  EXPECT_GT(graded.dram.timing.BL, 0);
  const CardConfig mine = from(R"({"dram": {"timing": {"tRCD": 99}}})");
  EXPECT_EQ(mine.dram.timing.tRCD, 99);
  EXPECT_EQ(mine.dram.timing.tRP, graded.dram.timing.tRP);
  expect_config_error([] { from(R"({"dram": {"standard": "DDR4", "speed_grade": "DDR4_9999"}})"); },
                      {"test.json", "dram.speed_grade = \"DDR4_9999\""});
}
#endif

TEST(ConfigDefaults, VectorMapsMergeOverDefaults) {
  const CardConfig c = from(R"({"vector": {"latency": {"exp": 3, "my_fn": 7}}})");
  EXPECT_EQ(c.vector.latency.at("exp"), 3);
  EXPECT_EQ(c.vector.latency.at("my_fn"), 7);
  EXPECT_EQ(c.vector.latency.at("default"), 4);  // the schema default survives
}

// ---------------------------------------------------------------------------------------
// Sizes and override values

TEST(ConfigParsing, ByteSizes) {
  EXPECT_EQ(parse_byte_size("24MiB"), 24ull * 1024 * 1024);
  EXPECT_EQ(parse_byte_size("64 KiB"), 65536u);
  EXPECT_EQ(parse_byte_size("2GB"), 2000000000u);
  EXPECT_EQ(parse_byte_size("1.5MiB"), 1572864u);
  EXPECT_EQ(parse_byte_size("4096"), 4096u);
  EXPECT_EQ(parse_byte_size("8GiB"), 8ull << 30);
  EXPECT_FALSE(parse_byte_size("0.3B"));
  EXPECT_FALSE(parse_byte_size("12XB"));
  EXPECT_FALSE(parse_byte_size("MiB"));
  EXPECT_FALSE(parse_byte_size("1.2.3KiB"));
  EXPECT_FALSE(parse_byte_size("-4KiB"));
  EXPECT_FALSE(parse_byte_size(std::string(400, '9') + "TiB"));
  EXPECT_FALSE(parse_byte_size("99999999TiB"));  // beyond 64 bits
}

TEST(ConfigParsing, OverrideValues) {
  EXPECT_EQ(parse_override_value("64"), json(64));
  EXPECT_EQ(parse_override_value("true"), json(true));
  EXPECT_EQ(parse_override_value("[\"os\"]"), json::array({"os"}));
  EXPECT_EQ(parse_override_value("DDR4"), json("DDR4"));
  EXPECT_EQ(parse_override_value("\"64\""), json("64"));
  EXPECT_EQ(parse_override_value("2MiB"), json("2MiB"));
}

// ---------------------------------------------------------------------------------------
// extends and overrides

TEST_F(ConfigFiles, ExtendsChainAndOverrides) {
  write("base.json", R"({"name": "base", "matrix": {"rows": 64, "cols": 64}, "sram": {"banks": 16}})");
  write("sub/child.json", R"({"extends": "../base.json", "name": "child", "matrix": {"cols": 48}})");
  const std::string child = (dir_ / "sub/child.json").string();
  CardConfig c = load_config(child);
  EXPECT_EQ(c.name, "child");
  EXPECT_EQ(c.matrix.rows, 64);  // from base
  EXPECT_EQ(c.matrix.cols, 48);  // child wins
  EXPECT_EQ(c.sram.banks, 16);
  EXPECT_EQ(c.sram.size_bytes, 24ull << 20);  // schema default

  c = load_config(child, {"matrix.rows=16", "dram.standard=DDR4", "dram.capacity_bytes=8GiB", "name=my card",
                          "matrix.dataflows=[\"os\"]", "sram.size_bytes=2MiB", "vector.latency.exp=2"});
  EXPECT_EQ(c.matrix.rows, 16);
  EXPECT_EQ(c.matrix.cols, 48);
  EXPECT_EQ(c.dram.standard, "DDR4");
  EXPECT_EQ(c.dram.bus_width_bits, 64);  // re-derived for the overridden standard
  EXPECT_EQ(c.name, "my card");
  EXPECT_EQ(c.matrix.dataflows, std::vector<std::string>{"os"});
  EXPECT_EQ(c.sram.size_bytes, 2u << 20);
  EXPECT_EQ(c.vector.latency.at("exp"), 2);
  EXPECT_EQ(c.effective["sram"]["size_bytes"], json(2u << 20));  // normalized to bytes
}

TEST_F(ConfigFiles, ExtendsPresetByName) {
  write("mine.json", R"({"extends": "edge", "name": "mine", "sram": {"size_bytes": "2MiB"}})");
  CardConfig c = load_config((dir_ / "mine.json").string());
  EXPECT_EQ(c.name, "mine");
  EXPECT_EQ(c.matrix.rows, 32);  // edge
  EXPECT_EQ(c.dram.standard, "LPDDR4");
  EXPECT_EQ(c.sram.size_bytes, 2u << 20);
  // config_from_json resolves extends relative to its origin.
  CardConfig d = config_from_json(json::parse(R"({"extends": "tpu-v1", "clock_ghz": 1.4})"),
                                  (dir_ / "inline.json").string());
  EXPECT_EQ(d.matrix.rows, 256);
  EXPECT_DOUBLE_EQ(d.clock_ghz, 1.4);
}

TEST(ConfigFromJson, OriginLabelNamesErrorsAndExtendsUsesPresets) {
  const CardConfig c = config_from_json(json::parse(R"({"extends": "edge", "matrix": {"rows": 48}})"), "sweep point 3");
  EXPECT_EQ(c.matrix.rows, 48);
  EXPECT_EQ(c.dram.standard, "LPDDR4");
  expect_config_error([] { config_from_json(json::parse(R"({"extends": "edge", "pcie": {"gen": 0}})"), "sweep point 4"); },
                      {"sweep point 4: pcie.gen = 0"});
  // A value set by the preset names the preset file.
  expect_config_error([] { config_from_json(json::parse(R"({"extends": "tpu-v1", "matrix": {"dtypes": ["i8", "f32"]}})"), "p5"); },
                      {"tpu-v1.json: matrix.fp32_rate = 0.0", "\"f32\""});
}

TEST_F(ConfigFiles, ExtendsCycleIsAnError) {
  write("a.json", R"({"extends": "b.json"})");
  write("b.json", R"({"extends": "c.json"})");
  write("c.json", R"({"extends": "a.json"})");
  expect_config_error([&] { load_config((dir_ / "a.json").string()); }, {"extends cycle", "a.json", "b.json", "c.json"});
  write("self.json", R"({"extends": "self.json"})");
  expect_config_error([&] { load_config((dir_ / "self.json").string()); }, {"extends cycle", "self.json"});
}

TEST_F(ConfigFiles, MissingFiles) {
  expect_config_error([&] { load_config((dir_ / "nope.json").string()); }, {"nope.json", "not found"});
  write("orphan.json", R"({"extends": "missing-base.json"})");
  expect_config_error([&] { load_config((dir_ / "orphan.json").string()); }, {"missing-base.json", "not found"});
  write("badext.json", R"({"extends": 3})");
  expect_config_error([&] { load_config((dir_ / "badext.json").string()); }, {"badext.json", "extends = 3"});
}

TEST_F(ConfigFiles, MalformedJsonReportsLineAndColumn) {
  // The stray ',' is on line 3, column 16.
  write("broken.json", "{\n  \"name\": \"x\",\n  \"clock_ghz\": ,\n}\n");
  expect_config_error([&] { load_config((dir_ / "broken.json").string()); }, {"broken.json:3:16", "malformed JSON"});
  write("array.json", "[1, 2]");
  expect_config_error([&] { load_config((dir_ / "array.json").string()); }, {"array.json", "expected a JSON object"});
}

TEST_F(ConfigFiles, ErrorsNameTheFileThatSetTheValue) {
  write("base.json", R"({"matrix": {"rows": 0}})");
  write("child.json", R"({"extends": "base.json", "name": "child"})");
  expect_config_error([&] { load_config((dir_ / "child.json").string()); },
                      {"base.json: matrix.rows = 0", "[1, 4096]"});
  // The same bad value from an override names the override.
  write("ok.json", R"({"name": "ok"})");
  expect_config_error([&] { load_config((dir_ / "ok.json").string(), {"pcie.gen=9"}); },
                      {"--set pcie.gen=9", "pcie.gen = 9", "[1, 5]"});
  expect_config_error([&] { load_config((dir_ / "ok.json").string(), {"matrix.rowz=3"}); },
                      {"--set matrix.rowz=3", "unknown key 'matrix.rowz'", "did you mean 'matrix.rows'"});
}

TEST_F(ConfigFiles, BadOverrides) {
  write("ok.json", R"({"name": "ok"})");
  const std::string ok = (dir_ / "ok.json").string();
  expect_config_error([&] { load_config(ok, {"matrix.rows"}); }, {"--set matrix.rows", "key.path=value"});
  expect_config_error([&] { load_config(ok, {"matrix..rows=3"}); }, {"empty key"});
  expect_config_error([&] { load_config(ok, {"matrix.rows.x=3"}); },
                      {"--set matrix.rows.x=3", "matrix.rows = {\"x\":3}", "expected an integer"});
  expect_config_error([&] { load_config(ok, {"matrix.rows=8", "matrix.rows.x=3"}); }, {"'matrix.rows' = 8 is not an object"});
  expect_config_error([&] { load_config(ok, {"extends=edge"}); }, {"extends cannot be overridden"});
}

// ---------------------------------------------------------------------------------------
// Validation errors: path, value and what is allowed

TEST(ConfigErrors, UnknownKeys) {
  expect_config_error([] { from(R"({"matrix": {"rowz": 4}})"); },
                      {"test.json", "unknown key 'matrix.rowz'", "did you mean 'matrix.rows'", "'matrix' accepts: cols, dataflows"});
  expect_config_error([] { from(R"({"sram": {"rows": 4}})"); }, {"unknown key 'sram.rows'", "did you mean 'matrix.rows'"});
  expect_config_error([] { from(R"({"sram_size": 4})"); }, {"unknown key 'sram_size'", "the top level accepts"});
  expect_config_error([] { from(R"({"energy": {"actions_pj": {"mac_int8": 1}}})"); },
                      {"unknown key 'energy.actions_pj.mac_int8'", "did you mean 'mac_i8'"});
  expect_config_error([] { from(R"({"matrix": {"extends": "edge"}})"); }, {"unknown key 'matrix.extends'"});
}

TEST(ConfigErrors, WrongTypes) {
  expect_config_error([] { from(R"({"matrix": {"rows": "128"}})"); }, {"matrix.rows = \"128\"", "expected an integer"});
  expect_config_error([] { from(R"({"matrix": {"rows": 12.5}})"); }, {"matrix.rows = 12.5", "expected an integer"});
  expect_config_error([] { from(R"({"clock_ghz": "fast"})"); }, {"clock_ghz = \"fast\"", "expected a number"});
  expect_config_error([] { from(R"({"dma": {"compression": 1}})"); }, {"dma.compression = 1", "true or false"});
  expect_config_error([] { from(R"({"matrix": 5})"); }, {"matrix = 5", "expected an object"});
  expect_config_error([] { from(R"({"sram": {"size_bytes": "lots"}})"); }, {"sram.size_bytes = \"lots\"", "24MiB"});
  expect_config_error([] { from(R"({"matrix": {"dataflows": "ws"}})"); }, {"matrix.dataflows = \"ws\"", "a list"});
  expect_config_error([] { from(R"({"vector": {"latency": {"exp": 1.5}}})"); }, {"vector.latency.exp = 1.5"});
}

TEST(ConfigErrors, OutOfRange) {
  expect_config_error([] { from(R"({"pcie": {"gen": 6}})"); }, {"pcie.gen = 6", "[1, 5]"});
  expect_config_error([] { from(R"({"pcie": {"lanes": 3}})"); }, {"pcie.lanes = 3", "one of 1, 2, 4, 8, 16"});
  expect_config_error([] { from(R"({"pcie": {"max_payload": 384}})"); }, {"pcie.max_payload = 384", "power of two"});
  expect_config_error([] { from(R"({"pcie": {"max_payload": 8192}})"); }, {"pcie.max_payload = 8192", "[128, 4096]"});
  expect_config_error([] { from(R"({"sram": {"banks": 24}})"); }, {"sram.banks = 24", "power of two"});
  expect_config_error([] { from(R"({"clock_ghz": -1})"); }, {"clock_ghz = -1"});
  expect_config_error([] { from(R"({"sram": {"size_bytes": 100}})"); }, {"sram.size_bytes = 100", "1 KiB"});
  expect_config_error([] { from(R"({"matrix": {"dataflows": []}})"); }, {"matrix.dataflows = []", "1 to 3"});
  expect_config_error([] { from(R"({"vector": {"latency": {"exp": -2}}})"); }, {"vector.latency.exp = -2"});
}

TEST(ConfigErrors, BadEnums) {
  expect_config_error([] { from(R"({"dram": {"standard": "HBM2E"}})"); },
                      {"dram.standard = \"HBM2E\"", "\"DDR4\"", "did you mean 'HBM2e'"});
  try {  // DDR3 and DDR4 are equally close to DDR5: no guess, the allowed values are listed.
    from(R"({"dram": {"standard": "DDR5"}})");
    ADD_FAILURE() << "DDR5 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();
  }
  expect_config_error([] { from(R"({"dram": {"page_policy": "opn"}})"); }, {"dram.page_policy = \"opn\"", "did you mean 'open'"});
  expect_config_error([] { from(R"({"matrix": {"dataflows": ["ws", "rs"]}})"); }, {"matrix.dataflows[1] = \"rs\""});
  expect_config_error([] { from(R"({"matrix": {"dataflows": ["ws", "ws"]}})"); }, {"matrix.dataflows[1]", "no duplicates"});
}

TEST(ConfigErrors, InvalidCombinations) {
  expect_config_error([] { from(R"({"sram": {"size_bytes": "24MB"}})"); },  // decimal MB: not whole bank rows
                      {"sram.size_bytes = 24000000", "multiple of sram.banks × sram.bank_width_bytes = 2048"});
  expect_config_error([] { from(R"({"dram": {"standard": "DDR4", "bus_width_bits": 128, "capacity_bytes": "8GiB"}})"); },
                      {"dram.bus_width_bits = 128", "16, 32, 64, 72", "DDR4"});
  expect_config_error([] { from(R"({"matrix": {"fp32_rate": 0}})"); }, {"matrix.fp32_rate = 0", "\"f32\""});
  expect_config_error([] { from(R"({"dram": {"address_mapping": "RoBaCoCh"}})"); }, {"dram.address_mapping", "'Ra' appears 0 times"});
  expect_config_error([] { from(R"({"dram": {"address_mapping": "RoBaRaCoChXx"}})"); }, {"unknown field 'Xx'"});
  expect_config_error([] { from(R"({"dram": {"capacity_bytes": "1000000KiB"}})"); },
                      {"dram.capacity_bytes = 1024000000", "multiple", "= 131072 bytes"});
  expect_config_error([] { from(R"({"pcie": {"max_payload": 128, "read_completion": 256}})"); },
                      {"pcie.read_completion = 256", "at most pcie.max_payload = 128"});
  expect_config_error([] { from(R"({"dram": {"timing": {"BL": 8}}, "dma": {"request_bytes": 64}})"); },
                      {"dma.request_bytes = 64", "128 / 8 × 8 = 128"});
}

// ---------------------------------------------------------------------------------------
// Energy

TEST(ConfigEnergy, ScalingRule) {
  EXPECT_DOUBLE_EQ(energy_scale_from_45nm(45, 0.9), 1.0);
  EXPECT_NEAR(energy_scale_from_45nm(16, 0.8), 16.0 / 45 * (0.8 / 0.9) * (0.8 / 0.9), 1e-12);
  EXPECT_NEAR(energy_scale_from_45nm(22.5, 0.9), 0.5, 1e-12);
  EXPECT_NEAR(energy_scale_from_45nm(45, 0.45), 0.25, 1e-12);
}

TEST(ConfigEnergy, SramInterpolation) {
  EXPECT_NEAR(sram_read_64b_pj_45nm(8 * 1024), 10, 1e-9);
  EXPECT_NEAR(sram_read_64b_pj_45nm(32 * 1024), 20, 1e-9);
  EXPECT_NEAR(sram_read_64b_pj_45nm(1024 * 1024), 100, 1e-9);
  EXPECT_NEAR(sram_read_64b_pj_45nm(16 * 1024), 10 * std::sqrt(2.0), 1e-9);       // halfway in log size
  EXPECT_NEAR(sram_read_64b_pj_45nm(2 * 1024 * 1024), 100 * std::pow(5.0, 0.2), 1e-9);  // slope ln5/ln32
  EXPECT_NEAR(sram_read_64b_pj_45nm(2 * 1024), 5, 1e-9);                          // slope 1/2 below 8 KB
}

TEST(ConfigEnergy, ActionsAt45nmAreHorowitzAndOverridesWin) {
  // 256 KiB / 32 banks = 8 KiB banks -> 10 pJ per 64-bit access.
  const CardConfig c = from(R"({"energy": {"technology_nm": 45, "voltage": 0.9},
                                "sram": {"size_bytes": "256KiB", "banks": 32}})");
  EXPECT_DOUBLE_EQ(c.energy.actions_pj.at("mul_i8"), 0.2);
  EXPECT_DOUBLE_EQ(c.energy.actions_pj.at("mac_i8"), 0.3);   // 0.2 + int32 add 0.1
  EXPECT_DOUBLE_EQ(c.energy.actions_pj.at("mac_f32"), 4.6);  // 3.7 + 0.9
  EXPECT_DOUBLE_EQ(c.energy.actions_pj.at("mac_f16"), 2.0);  // 1.1 + f32 add 0.9
  EXPECT_DOUBLE_EQ(c.energy.actions_pj.at("sram_read_64b"), 10);
  const CardConfig m = from(R"({"energy": {"technology_nm": 45, "voltage": 0.9, "actions_pj": {"mul_i8": 1}}})");
  EXPECT_DOUBLE_EQ(m.energy.actions_pj.at("mac_i8"), 1.1);  // derived from the overridden multiply
  const CardConfig x = from(R"({"energy": {"actions_pj": {"mac_i8": 5}}})");
  EXPECT_DOUBLE_EQ(x.energy.actions_pj.at("mac_i8"), 5);
  // 16 nm, 0.8 V: scaled by 0.28093...
  const CardConfig d = from("{}");
  EXPECT_NEAR(d.energy.actions_pj.at("mul_f32"), 3.7 * energy_scale_from_45nm(16, 0.8), 1e-5);
}

TEST(ConfigEnergy, DramEnergyPerStandardAndExplicit) {
  EXPECT_DOUBLE_EQ(from(R"({"dram": {"standard": "DDR3", "capacity_bytes": "8GiB"}})").energy.dram_pj_per_bit, 70);
  EXPECT_DOUBLE_EQ(from(R"({"dram": {"standard": "GDDR5", "capacity_bytes": "8GiB"}})").energy.dram_pj_per_bit, 14);
  EXPECT_DOUBLE_EQ(from(R"({"energy": {"dram_pj_per_bit": 5}})").energy.dram_pj_per_bit, 5);
}

// ---------------------------------------------------------------------------------------
// config show and the documentation

TEST(ConfigShow, DeterministicSortedAndAFixedPoint) {
  const std::string a = config_to_string(load_config(resolve_config_path("edge")));
  const std::string b = config_to_string(load_config(resolve_config_path("edge")));
  EXPECT_EQ(a, b);
  EXPECT_LT(a.find("\"accumulator\""), a.find("\"clock_ghz\""));
  EXPECT_LT(a.find("\"clock_ghz\""), a.find("\"dma\""));
  EXPECT_EQ(a.find("extends"), std::string::npos);
  EXPECT_EQ(a.find("_comment"), std::string::npos);
  // The effective JSON is itself a complete configuration that reproduces itself.
  const CardConfig again = config_from_json(json::parse(a), "effective.json");
  EXPECT_EQ(config_to_string(again), a);
}

TEST(ConfigDoc, GeneratedReferenceIsCurrent) {
  const fs::path doc = fs::path(CARDSIM_SOURCE_DIR) / "docs" / "CONFIG.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(config_doc_with_reference(ss.str()), ss.str())
      << "docs/CONFIG.md is stale: run `cmake --build <build dir> --target config_gen_doc`";
  const std::string ref = config_reference_markdown();
  for (const ConfigField& f : config_schema()) EXPECT_NE(ref.find("`" + f.path + "`"), std::string::npos) << f.path;
}

}  // namespace
}  // namespace cardsim
