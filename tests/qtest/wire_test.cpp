// The pieces under qwire::qtest::client: the base64 codec and the number spellings.
#include <catch2/catch.hpp>

#include "qtest/base64.hpp"
#include "qtest/wire.hpp"

namespace base64 = qwire::qtest::base64;
namespace wire = qwire::qtest::wire;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes of(std::string_view s) { return bytes(s.begin(), s.end()); }

std::string encoded(const bytes& data) {
    std::string out;
    base64::encode(data, out);
    return out;
}

}  // namespace

TEST_CASE("qtest base64: the RFC 4648 test vectors, both ways") {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, text] : vectors) {
        INFO(plain);
        CHECK(encoded(of(plain)) == text);
        CHECK(base64::encoded_size(plain.size()) == text.size());
        CHECK(base64::decode(text) == of(plain));
    }
}

TEST_CASE("qtest base64: every byte value and every tail length round-trips") {
    bytes all(256);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
    for (std::size_t n = 0; n <= all.size(); n += (n < 8 ? 1 : 37)) {
        const bytes data(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
        const std::string text = encoded(data);
        CHECK(text.size() == base64::encoded_size(n));
        CHECK(base64::decode(text) == data);
    }
    CHECK(encoded({0xfb, 0xff, 0xbf}) == "+/+/");  // the two characters past the alphanumerics
}

TEST_CASE("qtest base64: decoding is strict") {
    using namespace std::string_view_literals;
    for (std::string_view bad : {"Zg="sv, "Zg"sv, "Z"sv, "Z==="sv, "===="sv, "Zg=a"sv, "Zm9v="sv, "Zm9v===="sv,
                                 "Zg==Zg=="sv, "Zm 9"sv, "Zm9\n"sv, "Zm9-"sv, "Zm9_"sv, "Zm\x80v"sv, "Zm9\0"sv}) {
        INFO(bad);
        CHECK_FALSE(base64::decode(bad));
    }
}

TEST_CASE("qtest wire: numbers and data are spelled compactly") {
    CHECK(wire::hex(0) == "0x0");
    CHECK(wire::hex(0x0b) == "0xb");
    CHECK(wire::hex(0xdeadbeef) == "0xdeadbeef");
    CHECK(wire::hex(~std::uint64_t{0}) == "0xffffffffffffffff");
    CHECK(wire::hex_data(bytes{}) == "0x");
    CHECK(wire::hex_data(bytes{0x00, 0x0f, 0xa0, 0xff}) == "0x000fa0ff");
}
