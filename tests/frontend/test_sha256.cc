#include <cstdio>
#include <fstream>
#include <string>

#include "compiler/frontend/sha256.h"
#include "tests/frontend/model_builder.h"
#include <gtest/gtest.h>

namespace cardsim {

// FIPS 180-2 appendix B test vectors.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(std::string()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(std::string("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Padding boundaries (55/56/63/64/... bytes) against coreutils' sha256sum.
TEST(Sha256, PaddingBoundariesMatchSha256sum) {
  std::string dir = test::temp_dir("sha");
  for (size_t len : {1, 55, 56, 57, 63, 64, 65, 119, 120, 128}) {
    std::string data;
    for (size_t i = 0; i < len; ++i) data += char((i * 131 + 7) & 0xff);
    std::string path = dir + "/blob";
    std::ofstream(path, std::ios::binary) << data;
    FILE* p = popen(("sha256sum " + path).c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[65] = {};
    ASSERT_EQ(fread(buf, 1, 64, p), 64u);
    pclose(p);
    EXPECT_EQ(sha256_hex(data), std::string(buf, 64)) << "length " << len;
  }
}

// The accelerated path (SHA-NI where the CPU has it) and the portable rounds agree.
TEST(Sha256, AcceleratedMatchesPortable) {
  std::string data(1 << 20, '\0');
  uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1664525u + 1013904223u;
    c = char(x >> 24);
  }
  for (size_t len : {0, 1, 63, 64, 65, 127, 128, 129, 1000, 4096, 1 << 20})
    EXPECT_EQ(sha256_hex(data.data(), len), sha256_hex_portable(data.data(), len)) << len;
}

}  // namespace cardsim
