#include "compiler/frontend/file_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace cardsim {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(ErrorKind::Io, "{}: no such file", path);
  if (std::filesystem::is_directory(path, ec)) fail(ErrorKind::Io, "{}: is a directory, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "{}: cannot open for reading ({})", path, std::strerror(errno));
  auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(ErrorKind::Io, "{}: cannot get its size ({})", path, ec.message());
  std::string bytes(size_t(size), '\0');
  in.read(bytes.data(), std::streamsize(size));
  if (size_t(in.gcount()) != size) fail(ErrorKind::Io, "{}: read {} of {} bytes", path, in.gcount(), size);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorKind::Io, "{}: cannot open for writing ({})", tmp, std::strerror(errno));
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      fail(ErrorKind::Io, "{}: write failed ({})", tmp, std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(ErrorKind::Io, "{}: cannot rename {} over it ({})", path, tmp, ec.message());
  }
}

}  // namespace cardsim
