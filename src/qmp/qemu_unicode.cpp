// QEMU's modified UTF-8 (util/unicode.c), which both the reader (strings it accepts) and the
// writer (what it escapes) follow; see qemu_json.hpp.
#include <cstddef>
#include <string_view>

#include "qmp/qemu_json.hpp"

namespace qwire::qmp::qemu {

bool is_valid_codepoint(long cp) {
    if (cp < 0 || cp > 0x10FFFF) return false;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;  // noncharacters
    return !(cp >= 0xD800 && cp <= 0xDFFF);                                       // surrogates
}

long decode_codepoint(std::string_view s, std::size_t i, std::size_t& next) {
    static constexpr long min_cp[5] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
    const auto byte0 = static_cast<unsigned char>(s[i]);
    next = i + 1;
    if (byte0 < 0x80) return byte0;
    if (byte0 >= 0xFE) return -1;
    if ((byte0 & 0x40) == 0) return -1;  // a continuation byte
    unsigned len = 0;
    unsigned mask = 0x80;
    for (; byte0 & mask; mask >>= 1) ++len;
    long cp = byte0 & (mask - 1);
    for (unsigned k = 1; k < len; ++k) {
        if (next >= s.size() || (static_cast<unsigned char>(s[next]) & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (static_cast<unsigned char>(s[next]) & 0x3F);
        ++next;
    }
    if (!is_valid_codepoint(cp)) return -1;
    if (cp < min_cp[len - 2] && !(cp == 0 && len == 2)) return -1;  // overlong, except C0 80
    return cp;
}

}  // namespace qwire::qmp::qemu
