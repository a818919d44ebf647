// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex. Hand-written rather than linking
// OpenSSL: libssl-dev is not among the project's agreed dependencies (scripts/setup) and the
// only use is fingerprinting the model file for the loadable's metadata. Uses the x86 SHA
// extensions when the CPU has them (a 350 MB ViT hashes in ~0.3 s instead of ~3 s).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cardsim {

std::string sha256_hex(const void* data, size_t size);
// Always the portable C++ rounds (tests compare it with the SHA-NI path).
std::string sha256_hex_portable(const void* data, size_t size);
inline std::string sha256_hex(const std::string& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

}  // namespace cardsim
