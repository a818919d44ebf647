#include "isa/reference_doc.h"

#include <fmt/format.h>

#include "core/error.h"
#include "isa/encoding.h"
#include "isa/isa.h"

namespace cardsim::isa {

namespace {

std::string_view enum_set_name(EnumSet s) {
  switch (s) {
    case EnumSet::Space: return "space";
    case EnumSet::DType: return "dtype";
    case EnumSet::Fn: return "fn";
    case EnumSet::Dataflow: return "dataflow";
    case EnumSet::None: break;
  }
  return "";
}

std::string kind_text(FieldId f) {
  const FieldInfo& fi = field_info(f);
  switch (fi.kind) {
    case FieldKind::U: return fmt::format("u{}", fi.bits);
    case FieldKind::S: return fmt::format("s{}", fi.bits);
    case FieldKind::F: return "f32";
    case FieldKind::E: return fmt::format("{}:{}", enum_set_name(enum_set_of(f)), fi.bits);
  }
  return "";
}

}  // namespace

std::string isa_reference_markdown() {
  std::string out;
  out += "<!-- Generated from isa/isa.cc by `isa_gen_doc`; do not edit by hand. -->\n\n";
  out += "### Opcodes\n\n";
  out += "| code | mnemonic | engine | bytes | description |\n|---|---|---|---|---|\n";
  for (int o = 0; o < kNumOpcodes; ++o) {
    const OpcodeInfo& oi = opcode_info(Opcode(o));
    out += fmt::format("| 0x{:02x} | `{}` | {} | {} | {} |\n", o, oi.mnemonic, engine_name(oi.engine),
                       encoded_size(oi.op), oi.doc);
  }
  out += "\n### Instruction layouts\n\n";
  out += "Bit offsets count from bit 0 (LSB) of byte 0; byte 0 is the opcode. Kinds: `uN` unsigned, `sN` two's "
         "complement, `f32` IEEE binary32 bits, `set:N` enumeration (see Enumerations).\n";
  for (int o = 0; o < kNumOpcodes; ++o) {
    const OpcodeInfo& oi = opcode_info(Opcode(o));
    out += fmt::format("\n#### `{}` (0x{:02x}, {} engine, {} bytes)\n\n", oi.mnemonic, o, engine_name(oi.engine),
                       encoded_size(oi.op));
    out += "| bits | field | kind | meaning |\n|---|---|---|---|\n";
    out += "| 0..7 | (opcode) | u8 | " + fmt::format("0x{:02x}", o) + " |\n";
    for (const FieldSlot& s : encoding_layout(oi.op)) {
      const FieldInfo& fi = field_info(s.field);
      out += fmt::format("| {}..{} | {} | {} | {} |\n", s.bit_offset, s.bit_offset + fi.bits - 1, fi.name,
                         kind_text(s.field), fi.doc);
    }
  }
  out += "\n### Fields\n\n";
  out += "| field | kind | meaning | used by |\n|---|---|---|---|\n";
  for (int f = 0; f < kNumFields; ++f) {
    FieldId fid = FieldId(f);
    std::string users;
    int n = 0;
    for (int o = 0; o < kNumOpcodes; ++o)
      if (opcode_has_field(Opcode(o), fid)) {
        users += fmt::format("{}`{}`", n ? " " : "", opcode_info(Opcode(o)).mnemonic);
        ++n;
      }
    if (n == kNumOpcodes) users = "all";
    out += fmt::format("| {} | {} | {} | {} |\n", field_info(fid).name, kind_text(fid), field_info(fid).doc, users);
  }
  out += "\n### Enumerations\n";
  for (EnumSet s : {EnumSet::Space, EnumSet::DType, EnumSet::Dataflow, EnumSet::Fn}) {
    out += fmt::format("\n`{}`: ", enum_set_name(s));
    bool first = true;
    for (const auto& [v, name] : enum_values(s)) {
      out += fmt::format("{}{}=`{}`", first ? "" : ", ", v, name);
      first = false;
    }
    out += "\n";
  }
  return out;
}

std::string replace_generated_block(const std::string& doc) {
  size_t b = doc.find(kGeneratedBegin);
  size_t e = doc.find(kGeneratedEnd);
  if (b == std::string::npos || e == std::string::npos || e < b)
    fail(ErrorKind::Format, "ISA.md: expected the markers '{}' and then '{}'", kGeneratedBegin, kGeneratedEnd);
  size_t body = b + std::string_view(kGeneratedBegin).size();
  return fmt::format("{}\n{}{}", doc.substr(0, body), isa_reference_markdown(), doc.substr(e));
}

}  // namespace cardsim::isa
