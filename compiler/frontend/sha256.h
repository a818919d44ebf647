// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex. Hand-written (~70 lines) rather
// than linking OpenSSL: libssl-dev is not among the project's agreed dependencies and the
// only use is fingerprinting the model file for the loadable's metadata.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cardsim {

std::string sha256_hex(const void* data, size_t size);
inline std::string sha256_hex(const std::string& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

}  // namespace cardsim
