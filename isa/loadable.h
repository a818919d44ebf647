// The loadable (.cbin): a Program as one checksummed binary file (ISA.md "Loadable").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/program.h"

namespace cardsim::isa {

constexpr uint32_t kLoadableFormatVersion = 1;  // the only version this cardsim reads/writes

// Deterministic: equal programs give equal bytes. Throws Error(Format) for an instruction
// that cannot be encoded, an instruction on a queue its engine does not serve, or a
// semaphore index >= num_semaphores.
std::vector<uint8_t> serialize_program(const Program& p);

// Inverse of serialize_program. `origin` (a file name) prefixes every error message.
// Errors (all ErrorKind::Format): wrong magic, unsupported format/ISA version, truncation
// (offset and expected size), checksum mismatch (naming the section), unknown opcode or
// invalid field value (section/queue and byte offset), malformed section contents.
Program parse_program(const uint8_t* data, size_t size, const std::string& origin);

// Atomic: writes a temporary file next to `path`, then renames it over `path`, so a
// half-written loadable never appears under the final name. Errors: ErrorKind::Io.
void write_loadable(const Program& p, const std::string& path);
Program read_loadable(const std::string& path);

// Checks serialize_program applies (queue/engine match, semaphore indices, field ranges);
// `where` prefixes messages. Throws Error(Format).
void check_program(const Program& p, const std::string& where);

}  // namespace cardsim::isa
