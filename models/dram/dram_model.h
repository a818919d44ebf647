// DRAM controller + device timing model (pure C++, no SystemC): per-bank state machine
// with published timing parameters, open/closed page policy, FR-FCFS within the request
// window, refresh, configurable address mapping. Time in nanoseconds.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/card_config.h"

namespace cardsim::dram {

// Speed-grade table lookup: fills timing (and geometry defaults) for a standard + grade.
// Throws Error(Config) listing what exists.
DramTiming find_speed_grade(const std::string& standard, const std::string& grade);
std::vector<std::string> standards();
std::vector<std::string> speed_grades(const std::string& standard);
// Data beats per tCK on each pin (2 for DDR, 4 for GDDR5, 8 for GDDR6/LPDDR5).
int transfers_per_clock(const std::string& standard);
// True when row and column commands have separate pins (HBM), so they do not compete.
bool split_command_bus(const std::string& standard);
// A DramConfig with the standard's typical device organisation (banks, bus width, page size,
// capacity per channel) and the grade's timing; mapping RoBaRaCoCh. `channels` must be a
// power of two.
DramConfig typical_config(const std::string& standard, const std::string& grade, int channels = 1);

struct Request {
  uint64_t addr = 0;
  bool is_write = false;
  uint32_t bytes = 64;
  double arrive_ns = 0;    // when it reaches the controller
  double done_ns = 0;      // filled by the model: when its data transfer completes
};

struct ChannelStats {
  uint64_t reads = 0, writes = 0, activates = 0, precharges = 0, refreshes = 0;
  uint64_t row_hits = 0, row_misses = 0, row_conflicts = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  double busy_ns = 0;  // data-bus occupancy
};

// Where one burst lands. Fields are indices; `bank` is within its bank group.
struct DramCoord {
  int channel = 0, rank = 0, bank_group = 0, bank = 0;
  uint64_t row = 0, column = 0;
};

// Address decoding from a Ramulator-style field order, most significant first, e.g.
// "RoBaRaCoCh". Fields: Ro(w) Ra(nk) Bg (bank group) Ba(nk) Co(lumn) Ch(annel); case is
// ignored, so DRAMSim3 strings like "rorababgchco" work too. Without a Bg field, Ba holds
// bank group and bank with the bank-group bits lowest, so consecutive Ba values alternate
// bank groups (bank-group interleaving). The lowest log2(burst bytes) bits are the offset.
class AddressMapping {
 public:
  AddressMapping(const DramConfig& cfg, uint32_t burst_bytes);
  DramCoord decode(uint64_t addr) const;
  uint64_t rows() const { return rows_; }

 private:
  enum Field { Ro, Ra, Bg, Ba, Co, Ch };
  std::array<int, 6> shift_{};       // per field: position of its lowest bit above the offset
  std::array<uint64_t, 6> mask_{};   // per field: (1 << bits) - 1; 0 for absent fields
  int offset_bits_ = 0;
  int bg_bits_ = 0;
  bool separate_bg_ = false;
  uint64_t rows_ = 1;
};

class DramModel {
 public:
  explicit DramModel(const DramConfig& cfg);
  // Serves a batch of requests (e.g. one DMA descriptor's bursts, in issue order);
  // the controller may reorder within its queue (FR-FCFS). Fills done_ns of each.
  void serve(std::vector<Request>& batch);
  // Convenience: a single request.
  double access(uint64_t addr, bool is_write, double arrive_ns, uint32_t bytes = 64);

  double peak_bandwidth_gbps() const;
  int channel_of(uint64_t addr) const;
  const std::vector<ChannelStats>& channel_stats() const;
  const std::vector<double>& latency_samples_ns() const;  // per request, done - arrive

  // Extras (not part of the lead's sketch).
  const DramConfig& config() const { return cfg_; }
  const AddressMapping& mapping() const { return mapping_; }
  uint32_t burst_bytes() const { return burst_bytes_; }
  double burst_ns() const { return burst_cycles_ * cfg_.timing.tCK_ns; }
  // Unloaded read latency to a precharged bank: controller + tRCD + CL + burst.
  double idle_latency_ns() const;
  // Unloaded read latency when another row is open: adds tRP.
  double conflict_latency_ns() const;
  ChannelStats total_stats() const;
  static constexpr int kQueueDepth = 32;  // per-channel request window for FR-FCFS

 private:
  using Cycle = int64_t;
  static constexpr Cycle kNever = INT64_MIN / 4;

  struct Burst {  // one burst of a request, 24 bytes (a run holds millions)
    Cycle arrive = 0;
    uint32_t request = 0;  // index into the batch
    uint32_t row = 0;
    uint16_t bank_index = 0, group_index = 0;  // within the channel
    uint8_t rank = 0, is_write = 0;
    uint16_t bypassed = 0; // times a younger burst went first (starvation cap)
  };
  struct Slot {  // a queued burst, 32 bytes, with what selection needs kept close together
    Cycle enq;
    // Cached from the bank's state (refreshed whenever that bank changes): for a row hit
    // the earliest RD/WR, otherwise the earliest ACT as far as the bank itself allows.
    Cycle part;
    uint32_t row, burst;
    uint16_t bank_index, group_index;
    uint8_t is_write, hit, blocked;  // blocked: a conflict that would close a row still hit
  };
  static_assert(sizeof(Slot) <= 32);
  struct Bank {
    int64_t open_row = -1;
    Cycle act_ready = 0, pre_ready = 0, cas_ready = 0;
  };
  struct BankGroup {
    Cycle last_act = kNever, last_rd = kNever, last_wr = kNever;
  };
  struct Rank {
    Cycle last_act = kNever, last_rd = kNever, last_wr = kNever;
    std::array<Cycle, 4> faw{kNever, kNever, kNever, kNever};
    int faw_next = 0;
    Cycle next_refresh = 0;
  };
  // One command per cycle on a command bus; commands may be placed out of order in time
  // (a later-chosen request can activate its bank earlier), so slots are tagged by cycle.
  struct CommandBus {
    std::vector<Cycle> slot;
    Cycle reserve(Cycle t);
  };
  struct Channel {
    std::vector<Rank> ranks;
    std::vector<BankGroup> groups;  // rank-major
    std::vector<Bank> banks;        // rank, group, bank
    Cycle bus_free = 0, last_rd_cas = kNever, now = 0;
    int last_data_rank = -1;
    std::vector<Slot> queue;          // the FR-FCFS window (scratch, empty between calls)
    std::array<Cycle, kQueueDepth> recent_cas{};  // RD/WR times of the last bursts, oldest at head
    int recent_head = 0, recent_n = 0;
    std::vector<uint32_t> bank_mark;  // selection scratch: bank has a queued row hit
    uint32_t mark_stamp = 0;
    std::vector<Cycle> act_bound, cas_bound;  // selection scratch per bank group
    CommandBus row_bus, col_bus;    // the same bus unless split_command_bus
    bool split_bus = false;
    ChannelStats stats;
  };

  void refresh_rank(Channel& ch, int rank, Cycle due);
  void catch_up_refresh(Channel& ch, int rank, Cycle t);
  Cycle earliest_act(Channel& ch, const Burst& b, Cycle t) const;
  CommandBus& row_bus(Channel& ch) { return ch.split_bus ? ch.row_bus : ch.col_bus; }
  Bank& bank_of(Channel& ch, const DramCoord& c) {
    return ch.banks[(c.rank * cfg_.bank_groups + c.bank_group) * cfg_.banks_per_group + c.bank];
  }
  BankGroup& group_of(Channel& ch, const DramCoord& c) {
    return ch.groups[c.rank * cfg_.bank_groups + c.bank_group];
  }
  void serve_channel(Channel& ch, std::vector<Burst>& bursts, std::vector<Request>& batch);

  DramConfig cfg_;
  uint32_t burst_bytes_ = 64;
  Cycle burst_cycles_ = 4;
  Cycle tRTRS_ = 1;  // rank-to-rank data-bus switch
  bool closed_page_ = false;
  AddressMapping mapping_;
  std::vector<Channel> channels_;
  std::vector<std::vector<Burst>> scratch_;  // per-channel bursts of the current batch
  mutable std::vector<ChannelStats> stats_view_;
  std::vector<double> latencies_;
};

}  // namespace cardsim::dram
