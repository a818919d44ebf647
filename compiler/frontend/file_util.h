// Whole-file reads and atomic writes with cardsim errors (Io) naming the path.
#pragma once
#include <string>

namespace cardsim {

std::string read_file_bytes(const std::string& path);
// Writes path.tmp.<pid>, then renames it over path, so readers never see a partial file.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace cardsim
