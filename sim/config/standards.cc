// Per-DRAM-standard configuration defaults (see standards.h).
#include "sim/config/standards.h"

#include "core/error.h"

namespace cardsim::config_detail {

// Geometry defaults per standard (common parts: DDR3/DDR4 x8 devices on a 64-bit rank,
// LPDDR x16 channels, GDDR5 x32, GDDR6 x16 channels, HBM2/2e 128-bit legacy channels).
const std::vector<StandardInfo>& standards_table() {
  static const std::vector<StandardInfo> t = {
      {"DDR3", 1, 8, 64, 8192, "DDR3_2133", {16, 32, 64, 72}},
      {"DDR4", 4, 4, 64, 8192, "DDR4_3200", {16, 32, 64, 72}},
      {"LPDDR4", 1, 8, 16, 2048, "LPDDR4_3200", {16, 32}},
      {"LPDDR5", 4, 4, 16, 2048, "LPDDR5_6400", {16, 32}},
      {"GDDR5", 4, 4, 32, 2048, "GDDR5_7000", {32}},
      {"GDDR6", 4, 4, 16, 2048, "GDDR6_14000", {16, 32}},
      {"HBM2", 4, 4, 128, 1024, "HBM2_2000", {64, 128}},
      {"HBM2e", 4, 4, 128, 1024, "HBM2e_3200", {64, 128}},
  };
  return t;
}

const StandardInfo& standard_info(const std::string& name) {
  for (const StandardInfo& s : standards_table())
    if (name == s.name) return s;
  fail(ErrorKind::Internal, "config: DRAM standard '{}' missing from the standards table", name);
}

}  // namespace cardsim::config_detail
