#include "models/dram/replay.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"

namespace cardsim::dram {
namespace {

std::string upper(std::string s) {
  for (char& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

bool parse_hex(const std::string& tok, uint64_t& out) {
  std::string s = tok;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s.substr(2);
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char ch : s) {
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return false;
    v = (v << 4) | uint64_t(d);
  }
  out = v;
  return true;
}

bool parse_dec(const std::string& tok, uint64_t& out) {
  if (tok.empty() || tok.size() > 19) return false;
  uint64_t v = 0;
  for (char ch : tok) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + uint64_t(ch - '0');
  }
  out = v;
  return true;
}

TraceFormat detect(const std::vector<std::string>& toks) {
  const std::string first = upper(toks[0]);
  if (first == "LD" || first == "ST") return TraceFormat::Ramulator;
  return TraceFormat::DRAMSim3;
}

}  // namespace

TraceFormat parse_trace_format(const std::string& name) {
  const std::string n = upper(name);
  if (n == "AUTO") return TraceFormat::Auto;
  if (n == "DRAMSIM3") return TraceFormat::DRAMSim3;
  if (n == "RAMULATOR" || n == "RAMULATOR2") return TraceFormat::Ramulator;
  fail(ErrorKind::Usage, "trace format '{}': expected auto, dramsim3 or ramulator", name);
}

std::vector<Request> parse_trace(std::istream& in, const std::string& origin, TraceFormat format,
                                 double tCK_ns, uint32_t bytes) {
  if (bytes == 0 || bytes > (1u << 20))
    fail(ErrorKind::Usage, "{}: request size {} bytes (expected 1 to 1048576)", origin, bytes);
  std::vector<Request> out;
  std::string line;
  uint64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ls(line);
    std::vector<std::string> toks;
    for (std::string t; ls >> t;) toks.push_back(t);
    if (toks.empty() || toks[0][0] == '#') continue;
    if (format == TraceFormat::Auto) format = detect(toks);
    Request r;
    r.bytes = bytes;
    if (format == TraceFormat::Ramulator) {
      const std::string op = upper(toks[0]);
      if (toks.size() != 2 || (op != "LD" && op != "ST"))
        fail(ErrorKind::Format, "{}:{}: expected a Ramulator 2 line 'LD 0x<hex address>' or "
             "'ST 0x<hex address>', got '{}'", origin, line_no, line);
      if (!parse_hex(toks[1], r.addr))
        fail(ErrorKind::Format, "{}:{}: bad hex address '{}' (expected e.g. 0x1aa9e6600)", origin,
             line_no, toks[1]);
      r.is_write = op == "ST";
      r.arrive_ns = 0;
    } else {
      if (toks.size() != 3)
        fail(ErrorKind::Format, "{}:{}: expected a DRAMSim3 line '<hex address> READ|WRITE <cycle>', "
             "got '{}'", origin, line_no, line);
      if (!parse_hex(toks[0], r.addr))
        fail(ErrorKind::Format, "{}:{}: bad hex address '{}' (expected e.g. 0x1aa9e6600)", origin,
             line_no, toks[0]);
      const std::string op = upper(toks[1]);
      if (op == "READ" || op == "R") r.is_write = false;
      else if (op == "WRITE" || op == "W") r.is_write = true;
      else
        fail(ErrorKind::Format, "{}:{}: bad operation '{}' (expected READ or WRITE)", origin, line_no,
             toks[1]);
      uint64_t cycle;
      if (!parse_dec(toks[2], cycle))
        fail(ErrorKind::Format, "{}:{}: bad cycle '{}' (expected a non-negative decimal DRAM clock)",
             origin, line_no, toks[2]);
      r.arrive_ns = double(cycle) * tCK_ns;
    }
    out.push_back(r);
  }
  return out;
}

std::vector<Request> read_trace_file(const std::string& path, TraceFormat format, double tCK_ns,
                                     uint32_t bytes) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::Io, "{}: cannot open DRAM trace for reading", path);
  return parse_trace(in, path, format, tCK_ns, bytes);
}

ReplayResult replay_requests(std::vector<Request>& requests, const DramConfig& cfg) {
  DramModel model(cfg);
  ReplayResult res;
  const DramConfig& c = model.config();
  res.config = fmt::format("{} {} x{} channel(s), {} rank(s), {}", c.standard, c.speed_grade, c.channels,
                           c.ranks, c.address_mapping);
  res.peak_gbps = model.peak_bandwidth_gbps();
  if (requests.empty()) return res;
  model.serve(requests);
  double first = requests[0].arrive_ns, last = 0;
  for (const Request& r : requests) {
    first = std::min(first, r.arrive_ns);
    last = std::max(last, r.done_ns);
    res.bytes += r.bytes;
    (r.is_write ? res.writes : res.reads) += 1;
  }
  res.requests = requests.size();
  res.elapsed_ns = last - first;
  res.bandwidth_gbps = res.elapsed_ns > 0 ? double(res.bytes) / res.elapsed_ns : 0;
  std::vector<double> lat = model.latency_samples_ns();
  double sum = 0;
  for (double l : lat) sum += l;
  res.mean_latency_ns = sum / double(lat.size());
  auto pct = [&](double p) {
    size_t k = std::min(lat.size() - 1, size_t(p * double(lat.size() - 1) + 0.5));
    std::nth_element(lat.begin(), lat.begin() + long(k), lat.end());
    return lat[k];
  };
  res.p50_latency_ns = pct(0.50);
  res.p99_latency_ns = pct(0.99);
  res.max_latency_ns = *std::max_element(lat.begin(), lat.end());
  const ChannelStats s = model.total_stats();
  res.activates = s.activates;
  res.refreshes = s.refreshes;
  res.row_hits = s.row_hits;
  res.row_misses = s.row_misses;
  res.row_conflicts = s.row_conflicts;
  return res;
}

ReplayResult replay_trace(const std::string& path, const DramConfig& cfg, TraceFormat format,
                          uint32_t bytes) {
  DramModel probe(cfg);  // resolves the speed grade so cycles convert with the right tCK
  std::vector<Request> reqs = read_trace_file(path, format, probe.config().timing.tCK_ns, bytes);
  return replay_requests(reqs, cfg);
}

std::string format_replay_result(const ReplayResult& r) {
  const uint64_t bursts = r.row_hits + r.row_misses + r.row_conflicts;
  auto pct = [&](uint64_t v) { return bursts ? 100.0 * double(v) / double(bursts) : 0.0; };
  std::string s;
  s += fmt::format("DRAM replay: {}\n", r.config);
  s += fmt::format("  requests      {} ({} reads, {} writes), {} bytes\n", r.requests, r.reads, r.writes,
                   r.bytes);
  s += fmt::format("  elapsed       {:.1f} ns\n", r.elapsed_ns);
  s += fmt::format("  bandwidth     {:.2f} GB/s of {:.2f} GB/s peak ({:.1f}%)\n", r.bandwidth_gbps,
                   r.peak_gbps, r.peak_gbps > 0 ? 100.0 * r.bandwidth_gbps / r.peak_gbps : 0.0);
  s += fmt::format("  latency       mean {:.1f} ns, p50 {:.1f} ns, p99 {:.1f} ns, max {:.1f} ns\n",
                   r.mean_latency_ns, r.p50_latency_ns, r.p99_latency_ns, r.max_latency_ns);
  s += fmt::format("  row buffer    {:.1f}% hits, {:.1f}% misses, {:.1f}% conflicts; {} ACT, {} REF\n",
                   pct(r.row_hits), pct(r.row_misses), pct(r.row_conflicts), r.activates, r.refreshes);
  return s;
}

std::vector<Request> generate_pattern(Pattern pattern, uint64_t count, uint64_t span_bytes,
                                      uint32_t bytes, uint64_t seed, double interval_ns,
                                      double write_fraction, uint64_t base) {
  if (bytes == 0) fail(ErrorKind::Usage, "dram pattern: request size must be > 0 bytes");
  if (pattern == Pattern::Random && span_bytes < bytes)
    fail(ErrorKind::Usage, "dram pattern: random span {} B is smaller than one request ({} B)", span_bytes,
         bytes);
  std::vector<Request> out(count);
  std::mt19937_64 rng(seed);
  const uint64_t slots = pattern == Pattern::Random ? span_bytes / bytes : 0;
  for (uint64_t i = 0; i < count; ++i) {
    Request& r = out[i];
    r.bytes = bytes;
    r.arrive_ns = interval_ns * double(i);
    if (pattern == Pattern::Sequential) {
      r.addr = base + i * bytes;
    } else {
      r.addr = base + (rng() % slots) * bytes;
    }
    if (write_fraction > 0) r.is_write = double(rng() >> 11) * 0x1.0p-53 < write_fraction;
  }
  return out;
}

void write_trace(std::ostream& out, const std::vector<Request>& requests, TraceFormat format,
                 double tCK_ns) {
  for (const Request& r : requests) {
    if (format == TraceFormat::Ramulator)
      out << (r.is_write ? "ST" : "LD") << " 0x" << std::hex << r.addr << std::dec << '\n';
    else
      out << "0x" << std::hex << r.addr << std::dec << (r.is_write ? " WRITE " : " READ ")
          << uint64_t(r.arrive_ns / tCK_ns + 0.5) << '\n';
  }
}

}  // namespace cardsim::dram
