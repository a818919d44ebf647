// isa_gen_doc [ISA.md]: rewrite the generated block of the ISA spec from the tables in isa.cc.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "isa/reference_doc.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : CARDSIM_SOURCE_DIR "/isa/ISA.md";
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) cardsim::fail(cardsim::ErrorKind::Io, "{}: cannot open", path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string updated = cardsim::isa::replace_generated_block(ss.str());
    if (updated == ss.str()) {
      std::cout << path << ": generated block already up to date\n";
      return 0;
    }
    std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << updated;
      if (!out.flush()) cardsim::fail(cardsim::ErrorKind::Io, "{}: cannot write", tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) cardsim::fail(cardsim::ErrorKind::Io, "{}: cannot replace", path);
    std::cout << path << ": generated block rewritten\n";
  } catch (const cardsim::Error& e) {
    std::cerr << "isa_gen_doc: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
