// isa/ISA.md carries the field tables generated from the one definition, verbatim.
#include <gtest/gtest.h>

#include "core/error.h"
#include "isa/reference_doc.h"
#include "test_util.h"

using namespace cardsim::isa;

TEST(IsaDoc, SpecHoldsExactlyTheGeneratedTables) {
  std::string doc = isa_test::read_text(CARDSIM_SOURCE_DIR "/isa/ISA.md");
  size_t b = doc.find(kGeneratedBegin), e = doc.find(kGeneratedEnd);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  std::string block = doc.substr(b + std::string(kGeneratedBegin).size(), e - b - std::string(kGeneratedBegin).size());
  EXPECT_EQ(block, std::string("\n").append(isa_reference_markdown()))
      << "isa/ISA.md is out of date: build and run the isa_gen_doc target";
}

TEST(IsaDoc, GeneratedTablesMentionEveryOpcodeAndField) {
  std::string md = isa_reference_markdown();
  for (int o = 0; o < kNumOpcodes; ++o)
    EXPECT_NE(md.find(fmt::format("#### `{}`", opcode_info(Opcode(o)).mnemonic)), std::string::npos);
  for (int f = 0; f < kNumFields; ++f)
    EXPECT_NE(md.find(fmt::format("| {} |", field_info(FieldId(f)).name)), std::string::npos);
  EXPECT_THROW(replace_generated_block("no markers"), cardsim::Error);
  std::string r = replace_generated_block(std::string("a\n") + kGeneratedBegin + "old" + kGeneratedEnd + "\nz");
  EXPECT_EQ(r, std::string("a\n") + kGeneratedBegin + "\n" + md + kGeneratedEnd + "\nz");
}
