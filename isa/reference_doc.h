// The generated part of isa/ISA.md: per-opcode encoding tables, the field table and the
// enumerations, all from the one definition in isa.cc. A test checks that ISA.md holds
// exactly this text between the markers; `isa_gen_doc` rewrites it.
#pragma once
#include <string>

namespace cardsim::isa {

constexpr const char* kGeneratedBegin = "<!-- BEGIN GENERATED -->";
constexpr const char* kGeneratedEnd = "<!-- END GENERATED -->";

std::string isa_reference_markdown();

// `doc` with the text between the markers replaced by isa_reference_markdown() (markers
// kept, each on its own line). Throws Error(Format) if the markers are missing or out of order.
std::string replace_generated_block(const std::string& doc);

}  // namespace cardsim::isa
