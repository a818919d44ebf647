#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "isa/assembler.h"
#include "isa/loadable.h"
#include "sim/cli/cli.h"

namespace cardsim::cli {

int cmd_asm(const Args& args) {
  po::options_description opts("asm options");
  std::string in, out;
  opts.add_options()("source", po::value(&in)->required(), "assembly text (.s)")
                    ("output,o", po::value(&out)->required(), "the .cbin to write");
  po::positional_options_description pos;
  pos.add("source", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim asm PROG.s -o PROG.cbin",
             "  cardsim asm tests/isa/programs/all_opcodes.s -o /tmp/p.cbin\n"
             "  cardsim disasm /tmp/p.cbin > p.s && cardsim asm p.s -o p2.cbin && cmp /tmp/p.cbin p2.cbin\n"))
    return 0;
  std::ifstream f(in, std::ios::binary);
  if (!f) fail(ErrorKind::Io, "{}: cannot open", in);
  std::stringstream ss;
  ss << f.rdbuf();
  isa::write_loadable(isa::assemble(ss.str(), in), out);
  return 0;
}

int cmd_disasm(const Args& args) {
  po::options_description opts("disasm options");
  std::string in, out;
  opts.add_options()("loadable", po::value(&in)->required(), "the .cbin to print")
                    ("output,o", po::value(&out), "write to a file instead of stdout");
  po::positional_options_description pos;
  pos.add("loadable", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "cardsim disasm PROG.cbin [-o PROG.s]",
             "  cardsim disasm resnet18.cbin | less\n  cardsim disasm resnet18.cbin -o resnet18.s\n"))
    return 0;
  std::string text = isa::disassemble(isa::read_loadable(in));
  if (out.empty()) {
    std::cout << text;
  } else {
    std::ofstream f(out, std::ios::binary);
    if (!f) fail(ErrorKind::Io, "{}: cannot write", out);
    f << text;
  }
  return 0;
}

}  // namespace cardsim::cli
