// Writes a calibration-pattern DRAM trace to stdout:
//   dram_tracegen sequential|random COUNT [--span-gib N] [--seed S] [--bytes B]
//                 [--interval-cycles C] [--tck-ns T] [--write-fraction F] [--format dramsim3|ramulator]
// e.g. `dram_tracegen random 100000 --span-gib 8 > r.trace && cardsim dram-replay r.trace -c default`
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/error.h"
#include "models/dram/replay.h"

using namespace cardsim;
using namespace cardsim::dram;

namespace {
int usage() {
  std::fprintf(stderr,
               "usage: dram_tracegen sequential|random COUNT [--span-gib N] [--seed S] [--bytes B]\n"
               "       [--interval-cycles C] [--tck-ns T] [--write-fraction F] [--format dramsim3|ramulator]\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  try {
    const std::string kind = argv[1];
    if (kind != "sequential" && kind != "random") return usage();
    const uint64_t count = std::strtoull(argv[2], nullptr, 10);
    double span_gib = 8, tck = 0.625, interval_cycles = 0, write_fraction = 0;
    uint64_t seed = 1;
    uint32_t bytes = 64;
    TraceFormat format = TraceFormat::DRAMSim3;
    for (int i = 3; i + 1 < argc + 1; i += 2) {
      if (i + 1 >= argc) return usage();
      const std::string opt = argv[i], val = argv[i + 1];
      if (opt == "--span-gib") span_gib = std::stod(val);
      else if (opt == "--seed") seed = std::stoull(val);
      else if (opt == "--bytes") bytes = uint32_t(std::stoul(val));
      else if (opt == "--interval-cycles") interval_cycles = std::stod(val);
      else if (opt == "--tck-ns") tck = std::stod(val);
      else if (opt == "--write-fraction") write_fraction = std::stod(val);
      else if (opt == "--format") format = parse_trace_format(val);
      else return usage();
    }
    if (format == TraceFormat::Auto) format = TraceFormat::DRAMSim3;
    const auto reqs = generate_pattern(kind == "random" ? Pattern::Random : Pattern::Sequential, count,
                                       uint64_t(span_gib * double(1ull << 30)), bytes, seed,
                                       interval_cycles * tck, write_fraction);
    write_trace(std::cout, reqs, format, tck);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dram_tracegen: %s\n", e.what());
    return 1;
  }
}
