// Text form of a Program (ISA.md "Assembly"): line-oriented directives for every Program
// field and one instruction per line, `mnemonic field=value ...`.
#pragma once
#include <string>

#include "isa/program.h"

namespace cardsim::isa {

// Canonical text: assemble(disassemble(p)) == p, and disassemble is stable under
// disassemble(assemble(.)). Deterministic.
std::string disassemble(const Program& p);

// Parse assembly text. `filename` is used in error messages, which all have the form
// "filename:line:column: what was found and what was expected" (ErrorKind::Format).
Program assemble(const std::string& text, const std::string& filename);

}  // namespace cardsim::isa
