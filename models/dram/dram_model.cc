// DRAM timing model. Time runs in DRAM clock cycles inside (exact integer arithmetic) and is
// converted to nanoseconds at the interface. Each request is split into bursts; per channel a
// window of kQueueDepth bursts is scheduled FR-FCFS, and each chosen burst's commands
// (PRE, ACT, RD/WR) are placed at the earliest cycle that satisfies every timing constraint
// against the state left by previously placed commands. No per-cycle loop: the cost is one
// window scan per burst, independent of how much idle time passes.
#include "models/dram/dram_model.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace cardsim::dram {
namespace {

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
int log2_exact(uint64_t v) { return std::countr_zero(v); }

DramConfig prepared(const DramConfig& in) {
  DramConfig cfg = in;
  // Timing given in full by the config wins; otherwise the speed grade fills it.
  if (cfg.timing.tCK_ns <= 0) {
    cfg.timing = find_speed_grade(cfg.standard, cfg.speed_grade);
  } else {
    transfers_per_clock(cfg.standard);  // still validates the standard
  }
  const DramTiming& t = cfg.timing;
  const std::pair<const char*, int> positive[] = {
      {"CL", t.CL},       {"CWL", t.CWL},       {"tRCD", t.tRCD},     {"tRP", t.tRP},
      {"tRAS", t.tRAS},   {"tRC", t.tRC},       {"tRRD_S", t.tRRD_S}, {"tRRD_L", t.tRRD_L},
      {"tFAW", t.tFAW},   {"tCCD_S", t.tCCD_S}, {"tCCD_L", t.tCCD_L}, {"tWR", t.tWR},
      {"tWTR_S", t.tWTR_S}, {"tWTR_L", t.tWTR_L}, {"tRTP", t.tRTP},   {"tREFI", t.tREFI},
      {"tRFC", t.tRFC},   {"BL", t.BL}};
  for (const auto& [name, v] : positive)
    if (v <= 0) fail(ErrorKind::Config, "dram.timing.{}: must be a positive number of tCK, got {}", name, v);
  if (t.tRFC >= t.tREFI)
    fail(ErrorKind::Config, "dram.timing: tRFC ({}) must be shorter than tREFI ({})", t.tRFC, t.tREFI);
  const std::pair<const char*, uint64_t> pow2[] = {
      {"channels", uint64_t(cfg.channels)},         {"ranks", uint64_t(cfg.ranks)},
      {"bank_groups", uint64_t(cfg.bank_groups)},   {"banks_per_group", uint64_t(cfg.banks_per_group)},
      {"bus_width_bits", uint64_t(cfg.bus_width_bits)}, {"row_bytes", cfg.row_bytes},
      {"capacity_bytes", cfg.capacity_bytes}};
  for (const auto& [name, v] : pow2)
    if (!is_pow2(v))
      fail(ErrorKind::Config, "dram.{}: must be a positive power of two, got {}", name, v);
  if (cfg.ranks > 16 || cfg.bank_groups * cfg.banks_per_group > 256 || cfg.channels > 1024)
    fail(ErrorKind::Config, "dram: {} channels x {} ranks x {} bank groups x {} banks is beyond the model's "
         "limits (1024 channels, 16 ranks, 256 banks per rank)", cfg.channels, cfg.ranks, cfg.bank_groups,
         cfg.banks_per_group);
  if (cfg.page_policy != "open" && cfg.page_policy != "closed")
    fail(ErrorKind::Config, "dram.page_policy: '{}' (expected open or closed)", cfg.page_policy);
  if (cfg.scheduler != "FRFCFS" && cfg.scheduler != "FCFS")
    fail(ErrorKind::Config, "dram.scheduler: '{}' (expected FRFCFS or FCFS)", cfg.scheduler);
  if (cfg.controller_latency_ns < 0)
    fail(ErrorKind::Config, "dram.controller_latency_ns: must be >= 0, got {}", cfg.controller_latency_ns);
  return cfg;
}

uint32_t burst_bytes_of(const DramConfig& cfg) {
  return uint32_t(cfg.timing.BL) * uint32_t(cfg.bus_width_bits) / 8;
}

}  // namespace

// ---------------------------------------------------------------- address mapping

AddressMapping::AddressMapping(const DramConfig& cfg, uint32_t burst_bytes) {
  if (!is_pow2(burst_bytes))
    fail(ErrorKind::Config, "dram: burst size BL*bus_width/8 = {} B must be a power of two", burst_bytes);
  if (cfg.row_bytes < burst_bytes)
    fail(ErrorKind::Config, "dram.row_bytes: {} is smaller than one burst ({} B)", cfg.row_bytes, burst_bytes);
  offset_bits_ = log2_exact(burst_bytes);
  const uint64_t per_row_all = uint64_t(cfg.channels) * cfg.ranks * cfg.bank_groups *
                               cfg.banks_per_group * cfg.row_bytes;
  if (cfg.capacity_bytes < per_row_all)
    fail(ErrorKind::Config, "dram.capacity_bytes: {} is less than one row in every bank ({} B)",
         cfg.capacity_bytes, per_row_all);
  rows_ = cfg.capacity_bytes / per_row_all;

  const std::string& s = cfg.address_mapping;
  std::vector<Field> msb_first;
  if (s.size() % 2 != 0)
    fail(ErrorKind::Config, "dram.address_mapping: '{}' must be a sequence of two-letter fields "
         "(Ro Ra Bg Ba Co Ch), most significant first", s);
  for (size_t i = 0; i < s.size(); i += 2) {
    const int a = std::tolower(static_cast<unsigned char>(s[i]));
    const int z = std::tolower(static_cast<unsigned char>(s[i + 1]));
    Field fld;
    if (a == 'r' && z == 'o') fld = Ro;
    else if (a == 'r' && z == 'a') fld = Ra;
    else if (a == 'b' && z == 'g') fld = Bg;
    else if (a == 'b' && z == 'a') fld = Ba;
    else if (a == 'c' && z == 'o') fld = Co;
    else if (a == 'c' && z == 'h') fld = Ch;
    else
      fail(ErrorKind::Config, "dram.address_mapping: unknown field '{}' at character {} of '{}' "
           "(expected Ro, Ra, Bg, Ba, Co, Ch)", s.substr(i, 2), i, s);
    if (std::find(msb_first.begin(), msb_first.end(), fld) != msb_first.end())
      fail(ErrorKind::Config, "dram.address_mapping: field '{}' appears twice in '{}'", s.substr(i, 2), s);
    msb_first.push_back(fld);
  }
  separate_bg_ = std::find(msb_first.begin(), msb_first.end(), Bg) != msb_first.end();
  bg_bits_ = log2_exact(cfg.bank_groups);
  auto bits_of = [&](Field f) -> int {
    switch (f) {
      case Ro: return log2_exact(rows_);
      case Ra: return log2_exact(cfg.ranks);
      case Bg: return bg_bits_;
      case Ba: return log2_exact(cfg.banks_per_group) + (separate_bg_ ? 0 : bg_bits_);
      case Co: return log2_exact(cfg.row_bytes / burst_bytes);
      case Ch: return log2_exact(cfg.channels);
    }
    return 0;
  };
  for (Field f : {Ro, Ra, Ba, Co, Ch}) {
    if (std::find(msb_first.begin(), msb_first.end(), f) == msb_first.end() && bits_of(f) > 0)
      fail(ErrorKind::Config, "dram.address_mapping: '{}' lacks the {} field", s,
           f == Ro ? "Ro" : f == Ra ? "Ra" : f == Ba ? "Ba" : f == Co ? "Co" : "Ch");
  }
  int shift = 0;
  for (auto it = msb_first.rbegin(); it != msb_first.rend(); ++it) {
    shift_[*it] = shift;
    mask_[*it] = (uint64_t(1) << bits_of(*it)) - 1;
    shift += bits_of(*it);
  }
  if (rows_ > (uint64_t(1) << 32))
    fail(ErrorKind::Config, "dram.capacity_bytes: {} gives {} rows per bank (at most 2^32 supported)",
         cfg.capacity_bytes, rows_);
}

DramCoord AddressMapping::decode(uint64_t addr) const {
  // Every field is a bit slice; bits above the top field are ignored (addresses wrap).
  const uint64_t a = addr >> offset_bits_;
  auto field = [&](Field f) { return (a >> shift_[f]) & mask_[f]; };
  DramCoord c;
  c.channel = int(field(Ch));
  c.rank = int(field(Ra));
  c.row = field(Ro);
  c.column = field(Co);
  const uint64_t ba = field(Ba);
  if (separate_bg_) {
    c.bank_group = int(field(Bg));
    c.bank = int(ba);
  } else {
    c.bank_group = int(ba & ((uint64_t(1) << bg_bits_) - 1));
    c.bank = int(ba >> bg_bits_);
  }
  return c;
}

// ---------------------------------------------------------------- model

DramModel::Cycle DramModel::CommandBus::reserve(Cycle t) {
  const size_t mask = slot.size() - 1;
  while (slot[size_t(t) & mask] == t) ++t;
  slot[size_t(t) & mask] = t;
  return t;
}

DramModel::DramModel(const DramConfig& cfg)
    : cfg_(prepared(cfg)),
      burst_bytes_(burst_bytes_of(cfg_)),
      mapping_(cfg_, burst_bytes_) {
  const int tpc = transfers_per_clock(cfg_.standard);
  if (cfg_.timing.BL % tpc != 0)
    fail(ErrorKind::Config, "dram.timing.BL: {} is not a whole number of clocks at {} transfers per tCK",
         cfg_.timing.BL, tpc);
  burst_cycles_ = cfg_.timing.BL / tpc;
  closed_page_ = cfg_.page_policy == "closed";
  channels_.resize(cfg_.channels);
  scratch_.resize(cfg_.channels);
  const int groups = cfg_.ranks * cfg_.bank_groups;
  for (Channel& ch : channels_) {
    ch.ranks.resize(cfg_.ranks);
    ch.groups.resize(groups);
    ch.banks.resize(size_t(groups) * cfg_.banks_per_group);
    ch.bank_mark.assign(ch.banks.size(), 0);
    ch.queue.reserve(kQueueDepth);
    ch.act_bound.assign(ch.groups.size(), 0);
    ch.cas_bound.assign(2 * ch.groups.size(), 0);
    ch.split_bus = split_command_bus(cfg_.standard);
    ch.col_bus.slot.assign(8192, kNever);
    if (ch.split_bus) ch.row_bus.slot.assign(8192, kNever);
    // Staggered refresh: ranks refresh at evenly spread points of the interval.
    for (int r = 0; r < cfg_.ranks; ++r)
      ch.ranks[r].next_refresh = Cycle(cfg_.timing.tREFI) * (r + 1) / cfg_.ranks;
  }
}

double DramModel::peak_bandwidth_gbps() const {
  return double(cfg_.channels) * burst_bytes_ / (double(burst_cycles_) * cfg_.timing.tCK_ns);
}

int DramModel::channel_of(uint64_t addr) const { return mapping_.decode(addr).channel; }

const std::vector<ChannelStats>& DramModel::channel_stats() const {
  stats_view_.clear();
  for (const Channel& ch : channels_) stats_view_.push_back(ch.stats);
  return stats_view_;
}

ChannelStats DramModel::total_stats() const {
  ChannelStats s;
  for (const Channel& ch : channels_) {
    const ChannelStats& c = ch.stats;
    s.reads += c.reads; s.writes += c.writes; s.activates += c.activates;
    s.precharges += c.precharges; s.refreshes += c.refreshes; s.row_hits += c.row_hits;
    s.row_misses += c.row_misses; s.row_conflicts += c.row_conflicts;
    s.bytes_read += c.bytes_read; s.bytes_written += c.bytes_written; s.busy_ns += c.busy_ns;
  }
  return s;
}

const std::vector<double>& DramModel::latency_samples_ns() const { return latencies_; }

double DramModel::idle_latency_ns() const {
  const DramTiming& t = cfg_.timing;
  return cfg_.controller_latency_ns + double(t.tRCD + t.CL + burst_cycles_) * t.tCK_ns;
}

double DramModel::conflict_latency_ns() const {
  return idle_latency_ns() + double(cfg_.timing.tRP) * cfg_.timing.tCK_ns;
}

void DramModel::refresh_rank(Channel& ch, int rank, Cycle due) {
  const DramTiming& t = cfg_.timing;
  Cycle start = due;
  const size_t first = size_t(rank) * cfg_.bank_groups * cfg_.banks_per_group;
  const size_t count = size_t(cfg_.bank_groups) * cfg_.banks_per_group;
  for (size_t i = first; i < first + count; ++i) {
    Bank& bk = ch.banks[i];
    if (bk.open_row >= 0) {  // precharge-all before refresh
      start = std::max(start, std::max(due, bk.pre_ready) + t.tRP);
      ++ch.stats.precharges;
    }
    start = std::max(start, bk.act_ready);  // tRC after the last ACT, tRP after a precharge
  }
  const Cycle ref = row_bus(ch).reserve(start);
  for (size_t i = first; i < first + count; ++i) {
    Bank& bk = ch.banks[i];
    bk.open_row = -1;
    bk.act_ready = ref + t.tRFC;
  }
  ++ch.stats.refreshes;
  ch.ranks[rank].next_refresh = due + t.tREFI;
}

void DramModel::catch_up_refresh(Channel& ch, int rank, Cycle t) {
  if (!cfg_.refresh) return;
  Rank& r = ch.ranks[rank];
  const Cycle interval = cfg_.timing.tREFI;
  if (t - r.next_refresh > 4 * interval) {
    // Long idle stretch: the refreshes in between found the rank idle; count them at once.
    const Cycle skipped = (t - r.next_refresh) / interval - 1;
    ch.stats.refreshes += uint64_t(skipped);
    r.next_refresh += skipped * interval;
  }
  while (r.next_refresh <= t) refresh_rank(ch, rank, r.next_refresh);
}

DramModel::Cycle DramModel::earliest_act(Channel& ch, const Burst& b, Cycle t) const {
  const DramTiming& T = cfg_.timing;
  const Rank& r = ch.ranks[b.rank];
  const BankGroup& g = ch.groups[b.group_index];
  t = std::max(t, r.last_act + T.tRRD_S);
  t = std::max(t, g.last_act + T.tRRD_L);
  t = std::max(t, r.faw[r.faw_next] + T.tFAW);  // oldest of the last four ACTs
  return t;
}

void DramModel::serve_channel(Channel& ch, std::vector<Burst>& bursts, std::vector<Request>& batch) {
  const DramTiming& T = cfg_.timing;
  const bool frfcfs = cfg_.scheduler == "FRFCFS";
  const double tck = T.tCK_ns;
  const Cycle burst = burst_cycles_;
  auto by_arrival = [](const Burst& a, const Burst& b) { return a.arrive < b.arrive; };
  if (!std::is_sorted(bursts.begin(), bursts.end(), by_arrival))
    std::stable_sort(bursts.begin(), bursts.end(), by_arrival);

  std::vector<Slot>& queue = ch.queue;  // oldest first; empty between calls
  queue.clear();
  // Recomputes the cached bank view of the queued bursts in banks b1/b2 (all when `all`).
  auto update_slots = [&](bool all, uint32_t b1, uint32_t b2) {
    const uint32_t stamp = ++ch.mark_stamp;
    uint8_t touched[kQueueDepth];
    int n = 0;
    for (size_t i = 0; i < queue.size(); ++i) {
      Slot& q = queue[i];
      if (!all && q.bank_index != b1 && q.bank_index != b2) continue;
      touched[n++] = uint8_t(i);
      q.hit = ch.banks[q.bank_index].open_row == int64_t(q.row);
      if (q.hit) ch.bank_mark[q.bank_index] = stamp;
    }
    for (int k = 0; k < n; ++k) {
      Slot& q = queue[touched[k]];
      const Bank& qb = ch.banks[q.bank_index];
      if (q.hit) {
        q.part = std::max(q.enq, qb.cas_ready);
        q.blocked = 0;
      } else {
        q.blocked = qb.open_row >= 0 && ch.bank_mark[q.bank_index] == stamp;
        q.part = std::max(q.enq, qb.act_ready);
        if (qb.open_row >= 0) q.part = std::max(q.part, std::max(q.enq, qb.pre_ready) + T.tRP);
      }
    }
  };
  size_t next = 0;
  Cycle now = ch.now;
  // Moves arrived bursts into free window slots; returns how many.
  // The window persists across calls: the k-th burst admitted in this call takes the slot
  // that the k-th oldest of the last kQueueDepth scheduled bursts freed at its RD/WR (or a
  // never-used slot); later ones take the slot of the burst just scheduled (at `now`).
  Cycle prev_free[kQueueDepth];
  const int prev_n = ch.recent_n;
  for (int k = 0; k < prev_n; ++k) prev_free[k] = ch.recent_cas[(ch.recent_head + k) % kQueueDepth];
  size_t admitted = 0;
  auto fill = [&]() {
    size_t added = 0;
    while (queue.size() < size_t(kQueueDepth) && next < bursts.size() && bursts[next].arrive <= now) {
      const Burst& nb = bursts[next];
      const Cycle slot_free = admitted < size_t(prev_n) ? prev_free[admitted]
                              : admitted < size_t(kQueueDepth) ? 0 : now;
      ++admitted;
      queue.push_back({std::max(nb.arrive, slot_free), 0, nb.row, uint32_t(next),
                       uint16_t(nb.bank_index), uint16_t(nb.group_index), uint8_t(nb.is_write), 0, 0});
      ++next;
      ++added;
    }
    return added;
  };
  constexpr uint32_t kMaxBypass = 16;  // a younger burst may overtake the oldest this often

  while (next < bursts.size() || !queue.empty()) {
    if (queue.empty()) {
      now = std::max(now, bursts[next].arrive);
      fill();
      update_slots(true, 0, 0);
    }

    // FR-FCFS, first-ready: the burst whose column command can issue earliest, row hits
    // winning ties, then the oldest. Row and column commands of different banks overlap,
    // so a miss whose bank can be activated now competes with hits in a busy bank group.
    // A conflict may not close a row that queued bursts still hit; the oldest burst goes
    // first once it has been overtaken kMaxBypass times.
    size_t pick = 0;
    if (frfcfs && queue.size() > 1 && bursts[queue[0].burst].bypassed < kMaxBypass) {
      // Per bank group: earliest ACT (tRRD_S/L, tFAW) and earliest RD/WR (tCCD_S/L, data
      // bus with the rank-switch gap, so same-rank bursts win ties).
      Cycle lower = INT64_MAX;
      for (int gi = 0; gi < int(ch.groups.size()); ++gi) {
        const int rank = gi / cfg_.bank_groups;
        const Rank& qr = ch.ranks[rank];
        const BankGroup& qg = ch.groups[gi];
        ch.act_bound[gi] = std::max({qr.last_act + T.tRRD_S, qg.last_act + T.tRRD_L,
                                     qr.faw[qr.faw_next] + T.tFAW}) + T.tRCD;
        const Cycle ccd = std::max(std::max(qg.last_rd, qg.last_wr) + T.tCCD_L,
                                   std::max(qr.last_rd, qr.last_wr) + T.tCCD_S);
        const Cycle bus =
            ch.bus_free + ((ch.last_data_rank >= 0 && ch.last_data_rank != rank) ? tRTRS_ : 0);
        ch.cas_bound[2 * gi] = std::max(ccd, bus - T.CL);
        ch.cas_bound[2 * gi + 1] = std::max(ccd, bus - T.CWL);
        lower = std::min({lower, ch.cas_bound[2 * gi], ch.cas_bound[2 * gi + 1]});
      }
      // Key = est, then "not a hit", then age (queue position): the minimum wins. Computed
      // without branches so the scan over the window stays cheap.
      uint64_t best_key = UINT64_MAX;
      const Slot& oldest = queue[0];
      const bool oldest_ready_hit =
          oldest.hit && std::max(oldest.part, ch.cas_bound[2 * oldest.group_index + oldest.is_write]) <= lower;
      for (size_t i = 0; i < (oldest_ready_hit ? 0 : queue.size()); ++i) {
        const Slot& q = queue[i];
        const Cycle miss_est = std::max(q.part + T.tRCD, ch.act_bound[q.group_index]);
        Cycle est = q.hit ? q.part : miss_est;
        est = std::max(est, ch.cas_bound[2 * q.group_index + q.is_write]);
        const uint64_t key = (uint64_t(est) << 7) | (uint64_t(!q.hit) << 6) | uint64_t(i);
        best_key = std::min(best_key, q.blocked ? UINT64_MAX : key);
      }
      pick = oldest_ready_hit ? 0 : size_t(best_key & 63);  // a ready oldest row hit goes first
      if (pick != 0) ++bursts[queue[0].burst].bypassed;
    }
    const Slot chosen = queue[pick];
    queue.erase(queue.begin() + long(pick));
    const Burst& b = bursts[chosen.burst];
    const Burst& c = b;
    Bank& bk = ch.banks[b.bank_index];
    BankGroup& g = ch.groups[b.group_index];
    Rank& r = ch.ranks[c.rank];
    const Cycle t0 = chosen.enq;

    const uint64_t refreshes_before = ch.stats.refreshes;
    // Refresh falls due before this burst's first command: do it first (it closes rows).
    if (cfg_.refresh) {
      for (;;) {
        Cycle first;
        if (bk.open_row == int64_t(c.row)) first = std::max(t0, bk.cas_ready);
        else if (bk.open_row < 0) first = std::max(t0, bk.act_ready);
        else first = std::max(t0, bk.pre_ready);
        if (first < r.next_refresh) break;
        catch_up_refresh(ch, c.rank, first);
      }
    }

    Cycle cas_min;
    if (bk.open_row == int64_t(c.row)) {
      ++ch.stats.row_hits;
      cas_min = std::max(t0, bk.cas_ready);
    } else {
      Cycle act_t = std::max(t0, bk.act_ready);
      if (bk.open_row >= 0) {
        ++ch.stats.row_conflicts;
        ++ch.stats.precharges;
        const Cycle pre = row_bus(ch).reserve(std::max(t0, bk.pre_ready));
        act_t = std::max(act_t, pre + T.tRP);
      } else {
        ++ch.stats.row_misses;
      }
      const Cycle act = row_bus(ch).reserve(earliest_act(ch, b, act_t));
      ++ch.stats.activates;
      r.faw[r.faw_next] = act;
      r.faw_next = (r.faw_next + 1) & 3;
      r.last_act = std::max(r.last_act, act);
      g.last_act = std::max(g.last_act, act);
      bk.open_row = int64_t(c.row);
      bk.pre_ready = act + T.tRAS;
      bk.act_ready = act + T.tRC;
      bk.cas_ready = act + T.tRCD;
      cas_min = act + T.tRCD;
    }

    // Column command: CAS-to-CAS spacing, write-to-read turnaround, data-bus occupancy.
    Cycle cas = cas_min;
    cas = std::max(cas, std::max(g.last_rd, g.last_wr) + T.tCCD_L);
    cas = std::max(cas, std::max(r.last_rd, r.last_wr) + T.tCCD_S);
    const Cycle bus_ready =
        ch.bus_free + ((ch.last_data_rank >= 0 && ch.last_data_rank != c.rank) ? tRTRS_ : 0);
    if (!b.is_write) {
      cas = std::max(cas, r.last_wr + T.CWL + burst + T.tWTR_S);
      cas = std::max(cas, g.last_wr + T.CWL + burst + T.tWTR_L);
      cas = std::max(cas, bus_ready - T.CL);
    } else {
      cas = std::max(cas, ch.last_rd_cas + T.CL + burst + 2 - T.CWL);  // read-to-write turnaround
      cas = std::max(cas, bus_ready - T.CWL);
    }
    cas = ch.col_bus.reserve(cas);
    const Cycle data_start = cas + (b.is_write ? T.CWL : T.CL);
    const Cycle data_end = data_start + burst;
    ch.bus_free = std::max(ch.bus_free, data_end);
    ch.last_data_rank = c.rank;
    ch.stats.busy_ns += double(burst) * tck;
    Request& req = batch[b.request];
    const uint32_t part = burst_bytes_;
    if (b.is_write) {
      g.last_wr = std::max(g.last_wr, cas);
      r.last_wr = std::max(r.last_wr, cas);
      ++ch.stats.writes;
      ch.stats.bytes_written += part;
      bk.pre_ready = std::max(bk.pre_ready, cas + T.CWL + burst + T.tWR);
    } else {
      g.last_rd = std::max(g.last_rd, cas);
      r.last_rd = std::max(r.last_rd, cas);
      ch.last_rd_cas = std::max(ch.last_rd_cas, cas);
      ++ch.stats.reads;
      ch.stats.bytes_read += part;
      bk.pre_ready = std::max(bk.pre_ready, cas + T.tRTP);
    }

    if (closed_page_) {
      // Close the row unless a queued request still wants it (auto-precharge).
      bool wanted = false;
      for (const Slot& s : queue) {
        if (s.bank_index == b.bank_index && s.row == c.row) {
          wanted = true;
          break;
        }
      }
      if (!wanted) {
        bk.open_row = -1;
        bk.act_ready = std::max(bk.act_ready, bk.pre_ready + T.tRP);
        ++ch.stats.precharges;
      }
    }

    req.done_ns = std::max(req.done_ns, double(data_end) * tck + cfg_.controller_latency_ns);
    now = std::max(now, cas);
    if (ch.recent_n < kQueueDepth) {
      ch.recent_cas[(ch.recent_head + ch.recent_n++) % kQueueDepth] = cas;
    } else {
      ch.recent_cas[ch.recent_head] = cas;
      ch.recent_head = (ch.recent_head + 1) % kQueueDepth;
    }
    const size_t added = fill();
    if (ch.stats.refreshes != refreshes_before || added > 1)
      update_slots(true, 0, 0);
    else
      update_slots(false, b.bank_index, added ? queue.back().bank_index : b.bank_index);
  }
  ch.now = now;
}

void DramModel::serve(std::vector<Request>& batch) {
  const double tck = cfg_.timing.tCK_ns;
  std::vector<std::vector<Burst>>& per_channel = scratch_;  // reused: no allocation per call
  for (auto& v : per_channel) v.clear();
  // (no exact reserve here: it reallocated on every call, O(n^2) over a run; push_back amortises)
  for (size_t i = 0; i < batch.size(); ++i) {
    Request& req = batch[i];
    if (req.arrive_ns < 0 || !std::isfinite(req.arrive_ns))
      fail(ErrorKind::Internal, "dram: request {} at address 0x{:x} has arrival time {} ns", i, req.addr,
           req.arrive_ns);
    if (req.bytes > (1u << 30))
      fail(ErrorKind::Internal, "dram: request {} at address 0x{:x} is {} bytes (at most 1 GiB per request)", i,
           req.addr, req.bytes);
    req.done_ns = 0;
    const Cycle arrive = Cycle(std::ceil(req.arrive_ns / tck - 1e-9));
    const uint64_t first = req.addr & ~uint64_t(burst_bytes_ - 1);
    const uint64_t end = req.addr + std::max<uint32_t>(req.bytes, 1);
    for (uint64_t a = first; a < end; a += burst_bytes_) {
      const DramCoord at = mapping_.decode(a);
      Burst b;
      b.arrive = arrive;
      b.request = uint32_t(i);
      b.row = uint32_t(at.row);
      b.rank = uint8_t(at.rank);
      b.is_write = req.is_write;
      b.group_index = uint16_t(at.rank * cfg_.bank_groups + at.bank_group);
      b.bank_index = uint16_t(b.group_index * cfg_.banks_per_group + at.bank);
      per_channel[at.channel].push_back(b);
    }
  }
  for (size_t c = 0; c < channels_.size(); ++c)
    if (!per_channel[c].empty()) serve_channel(channels_[c], per_channel[c], batch);
  for (const Request& req : batch) latencies_.push_back(req.done_ns - req.arrive_ns);
}

double DramModel::access(uint64_t addr, bool is_write, double arrive_ns, uint32_t bytes) {
  std::vector<Request> one(1);
  one[0].addr = addr;
  one[0].is_write = is_write;
  one[0].arrive_ns = arrive_ns;
  one[0].bytes = bytes;
  serve(one);
  return one[0].done_ns;
}

}  // namespace cardsim::dram
