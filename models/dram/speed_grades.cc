// DRAM speed grades: one row per published part (Ramulator 2 style). Timings are in
// DRAM clock cycles (tCK) exactly as the sources give them; see README.md for sources.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/dram/dram_model.h"

namespace cardsim::dram {
namespace {

struct GradeRow {
  const char* standard;
  const char* grade;
  DramTiming t;
};

// clang-format off
const GradeRow kGrades[] = {
  //  standard   grade          { tCK_ns, CL, CWL, tRCD, tRP, tRAS, tRC, tRRD_S, tRRD_L, tFAW, tCCD_S, tCCD_L, tWR, tWTR_S, tWTR_L, tRTP, tREFI, tRFC, BL }
  // DDR3 (JEDEC JESD79-3F bins, 8 Gb x8; DRAMSim3 DDR3_8Gb_x8_1866.ini for 1866)
  {"DDR3",   "DDR3_1600",   {1.25,   11,  8,  11,  11,  28,  39,   5,  5,  24,  4,  4,  12,  6,  6,  6,   6240,  280,  8}},
  {"DDR3",   "DDR3_1866",   {1.07,   13,  9,  13,  13,  32,  45,   6,  6,  33,  4,  4,  15,  7,  7,  7,   7290,  328,  8}},
  {"DDR3",   "DDR3_2133",   {0.938,  14, 10,  14,  14,  36,  50,   6,  6,  27,  4,  4,  16,  8,  8,  8,   8316,  374,  8}},
  // DDR4 x8 (DRAMSim3 DDR4_8Gb_x8_2400.ini / DDR4_8Gb_x8_3200.ini; 3200W/AC bins from Ramulator 2)
  {"DDR4",   "DDR4_2400",   {0.833,  16, 16,  16,  16,  39,  55,   4,  6,  26,  4,  6,  19,  3,  9,  9,   9364,  420,  8}},
  {"DDR4",   "DDR4_3200",   {0.625,  22, 16,  22,  22,  52,  74,   4,  8,  34,  4,  8,  24,  4, 12, 12,  12480,  560,  8}},
  {"DDR4",   "DDR4_3200W",  {0.625,  20, 16,  20,  20,  52,  72,   4,  8,  34,  4,  8,  24,  4, 12, 12,  12480,  560,  8}},
  {"DDR4",   "DDR4_3200AC", {0.625,  24, 16,  24,  24,  52,  76,   4,  8,  34,  4,  8,  24,  4, 12, 12,  12480,  560,  8}},
  // LPDDR4 (JESD209-4B, 8 Gb per channel: tRCD/tRPpb 18 ns, tRAS 42 ns, tRRD 10 ns, tFAW 40 ns, tRFCab 280 ns)
  {"LPDDR4", "LPDDR4_3200", {0.625,  28, 14,  29,  29,  68,  97,  16, 16,  64,  8,  8,  29, 16, 16, 12,   6240,  448, 16}},
  {"LPDDR4", "LPDDR4_4266", {0.469,  36, 18,  39,  39,  90, 129,  22, 22,  86,  8,  8,  39, 22, 22, 16,   8316,  598, 16}},
  // LPDDR5 (CK 800 MHz, 8 data transfers per CK; core timings after Ramulator 2 LPDDR5_6400)
  {"LPDDR5", "LPDDR5_6400", {1.25,   20, 11,  15,  15,  34,  49,   4,  4,  16,  2,  4,  28,  5, 10,  4,   3124,  168, 16}},
  // HBM2 legacy 128-bit channel (DRAMSim3 HBM2_8Gb_x128.ini, 2 Gb/s per pin)
  {"HBM2",   "HBM2_2000",   {1.0,    14,  4,  14,  14,  34,  48,   4,  6,  30,  1,  2,  16,  6,  8,  4,   3900,  260,  4}},
  // HBM2e 3.2 Gb/s per pin: the HBM2 nanosecond timings at tCK 0.625 ns (tRFC 350 ns for 16 Gb dies)
  {"HBM2e",  "HBM2e_3200",  {0.625,  23,  7,  23,  23,  55,  78,   7, 10,  48,  2,  3,  26, 10, 13,  7,   6240,  560,  4}},
  // GDDR5 7 Gb/s (CK 1.75 GHz, 4 transfers per CK; DRAMSim3 GDDR5_8Gb_x32.ini timings in ns)
  {"GDDR5",  "GDDR5_7000",  {0.571,  21,  6,  21,  21,  49,  70,   9,  9,  35,  2,  3,  21,  9,  9,  2,   3325,   65,  8}},
  // GDDR6 14 Gb/s (CK 1.75 GHz, 8 transfers per CK; Ramulator 2 GDDR6_2000_1350mV_quad)
  {"GDDR6",  "GDDR6_14000", {0.571,  24,  6,  26,  26,  53,  79,   7,  7,  28,  2,  3,  26,  9, 11,  4,   3333,  210, 16}},
};
// clang-format on

struct StandardTraits {
  const char* standard;
  int transfers_per_clock;     // data beats per tCK on each pin
  bool split_command_bus;      // separate row and column command pins (HBM)
  // Typical device organisation, one channel: ranks, bank groups, banks per group, bus width
  // (bits), row (page) bytes, capacity per channel.
  int ranks, bank_groups, banks_per_group, bus_width_bits;
  uint64_t row_bytes, channel_bytes;
};

// clang-format off
const StandardTraits kTraits[] = {
  // standard  beats/tCK split  ranks BG banks  bus   row    capacity per channel
  {"DDR3",     2,  false,  1,  1,  8,   64,  8192,  8ull << 30},   // x8 DIMM rank
  {"DDR4",     2,  false,  1,  4,  4,   64,  8192,  8ull << 30},   // x8 DIMM rank
  {"LPDDR4",   2,  false,  1,  1,  8,   16,  2048,  1ull << 30},   // one x16 channel
  {"LPDDR5",   8,  false,  1,  4,  4,   16,  2048,  2ull << 30},   // one x16 channel, BG mode
  {"HBM2",     2,  true,   1,  4,  4,  128,  1024,  1ull << 30},   // legacy 128-bit channel
  {"HBM2e",    2,  true,   1,  4,  4,  128,  1024,  2ull << 30},
  {"GDDR5",    4,  false,  1,  4,  4,   32,  2048,  1ull << 30},   // one x32 device
  {"GDDR6",    8,  false,  1,  4,  4,   16,  2048,  1ull << 30},   // one x16 channel
};
// clang-format on

const StandardTraits& traits_of(const std::string& standard) {
  for (const auto& t : kTraits)
    if (standard == t.standard) return t;
  std::string known;
  for (const auto& t : kTraits) known += std::string(known.empty() ? "" : ", ") + t.standard;
  fail(ErrorKind::Config, "dram.standard: unknown DRAM standard '{}' (expected one of: {})", standard,
       known);
}

}  // namespace

std::vector<std::string> standards() {
  std::vector<std::string> out;
  for (const auto& t : kTraits) out.push_back(t.standard);
  return out;
}

std::vector<std::string> speed_grades(const std::string& standard) {
  traits_of(standard);  // validates the name
  std::vector<std::string> out;
  for (const auto& g : kGrades)
    if (standard == g.standard) out.push_back(g.grade);
  return out;
}

DramTiming find_speed_grade(const std::string& standard, const std::string& grade) {
  traits_of(standard);
  for (const auto& g : kGrades)
    if (standard == g.standard && grade == g.grade) return g.t;
  std::string known;
  for (const auto& g : speed_grades(standard)) known += (known.empty() ? "" : ", ") + g;
  fail(ErrorKind::Config, "dram.speed_grade: unknown speed grade '{}' for {} (expected one of: {})",
       grade, standard, known);
}

int transfers_per_clock(const std::string& standard) { return traits_of(standard).transfers_per_clock; }

bool split_command_bus(const std::string& standard) { return traits_of(standard).split_command_bus; }

DramConfig typical_config(const std::string& standard, const std::string& grade, int channels) {
  const StandardTraits& t = traits_of(standard);
  DramConfig c;
  c.standard = standard;
  c.speed_grade = grade;
  c.timing = find_speed_grade(standard, grade);
  c.channels = channels;
  c.ranks = t.ranks;
  c.bank_groups = t.bank_groups;
  c.banks_per_group = t.banks_per_group;
  c.bus_width_bits = t.bus_width_bits;
  c.row_bytes = t.row_bytes;
  c.capacity_bytes = t.channel_bytes * uint64_t(channels);
  c.address_mapping = "RoBaRaCoCh";
  return c;
}

}  // namespace cardsim::dram
