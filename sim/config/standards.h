// Per-DRAM-standard defaults used by the config loader and its generated documentation
// (geometry and default speed grade; timing itself comes from the DRAM model's tables).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cardsim::config_detail {

struct StandardInfo {
  const char* name;
  int bank_groups, banks_per_group, bus_width_bits;
  uint64_t row_bytes;
  const char* speed_grade;          // preferred default grade
  std::vector<int> bus_widths;      // widths a channel of this standard may have
};

const std::vector<StandardInfo>& standards_table();
const StandardInfo& standard_info(const std::string& name);

}  // namespace cardsim::config_detail
