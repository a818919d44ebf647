// config_gen_doc: rewrites the generated block of docs/CONFIG.md from the schema table.
// Usage: config_gen_doc PATH/TO/CONFIG.md
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "sim/config/config.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: config_gen_doc docs/CONFIG.md\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) cardsim::fail(cardsim::ErrorKind::Io, "{}: cannot open", argv[1]);
    std::stringstream ss;
    ss << in.rdbuf();
    in.close();
    const std::string updated = cardsim::config_doc_with_reference(ss.str());
    if (updated == ss.str()) {
      std::cout << argv[1] << ": up to date\n";
      return 0;
    }
    std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
    out << updated;
    if (!out) cardsim::fail(cardsim::ErrorKind::Io, "{}: cannot write", argv[1]);
    std::cout << argv[1] << ": regenerated\n";
  } catch (const std::exception& e) {
    std::cerr << "config_gen_doc: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
