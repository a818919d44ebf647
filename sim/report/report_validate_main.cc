// report_validate FILE...: checks cardsim reports against docs/report.schema.json and the
// report's invariants (layers sum to the totals). Exit 0 when all pass, 1 otherwise.
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "sim/report/report.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: report_validate REPORT.json...\n";
    return 2;
  }
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    try {
      std::ifstream in(argv[i]);
      if (!in) cardsim::fail(cardsim::ErrorKind::Io, "cannot open");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(in);
      } catch (const nlohmann::json::parse_error& e) {
        cardsim::fail(cardsim::ErrorKind::Format, "not JSON: {}", e.what());
      }
      cardsim::report::validate_report(j);
      std::cout << argv[i] << ": ok\n";
    } catch (const std::exception& e) {
      std::cout << argv[i] << ": " << e.what() << "\n";
      ++failed;
    }
  }
  return failed ? 1 : 0;
}
