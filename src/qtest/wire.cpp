#include "qtest/wire.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <vector>

#include "engine/utf8.hpp"
#include "qtest/base64.hpp"

namespace qwire::qtest::wire {
namespace {

tl::unexpected<error> invalid(std::string detail) {
    return tl::unexpected(error(errc::invalid_argument, std::move(detail)));
}

tl::unexpected<error> violation(std::string detail) {
    return tl::unexpected(error(errc::unexpected_message, std::move(detail)));
}

constexpr bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool all_hex(std::string_view s) { return std::all_of(s.begin(), s.end(), is_hex_digit); }

std::uint8_t nibble(char c) {
    if (c <= '9') return static_cast<std::uint8_t>(c - '0');
    return static_cast<std::uint8_t>((c | 0x20) - 'a' + 10);
}

// A number as QEMU's qemu_strtou64(…, base 0) reads it, whole: `0x` and hex digits, `0` and
// octal digits, or decimal. A sign is not accepted (QEMU would wrap it).
std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// The same with an optional '-', within [min, max] (qemu_strtoi, qemu_strtoi64).
std::optional<std::int64_t> parse_signed(std::string_view s, std::int64_t min, std::int64_t max) {
    const bool negative = !s.empty() && s[0] == '-';
    if (negative) s.remove_prefix(1);
    const auto magnitude = parse_unsigned(s);
    if (!magnitude) return std::nullopt;
    if (!negative) {
        if (*magnitude > static_cast<std::uint64_t>(max)) return std::nullopt;
        return static_cast<std::int64_t>(*magnitude);
    }
    if (*magnitude > static_cast<std::uint64_t>(-(min + 1)) + 1) return std::nullopt;
    return *magnitude == 0 ? 0 : -static_cast<std::int64_t>(*magnitude - 1) - 1;
}

// What the arguments of the commands QEMU 7.2 knows must be. One letter per argument:
//   u  an unsigned 64-bit number         p  a port number, at most 0xffff
//   i  a signed 32-bit number            I  a signed 64-bit number
//   w  a word                            x  `0x` and an even number of hex digits
//   b  base64
// `required` of them must be there; more than the letters is refused (QEMU would ignore them,
// so they are a mistake).
struct rule {
    std::string_view name;
    std::string_view args;
    std::size_t required;
};

constexpr rule rules[] = {
    {"irq_intercept_in", "w", 1},
    {"irq_intercept_out", "w", 1},
    {"set_irq_in", "wwii", 4},
    {"outb", "pu", 2},
    {"outw", "pu", 2},
    {"outl", "pu", 2},
    {"inb", "p", 1},
    {"inw", "p", 1},
    {"inl", "p", 1},
    {"writeb", "uu", 2},
    {"writew", "uu", 2},
    {"writel", "uu", 2},
    {"writeq", "uu", 2},
    {"readb", "u", 1},
    {"readw", "u", 1},
    {"readl", "u", 1},
    {"readq", "u", 1},
    {"read", "uu", 2},
    {"b64read", "uu", 2},
    {"write", "uux", 3},
    {"memset", "uuu", 3},
    {"b64write", "uub", 3},
    {"endianness", "", 0},
    {"clock_step", "I", 0},
    {"clock_set", "I", 1},
    {"module_load", "ww", 2},
};

const char* describe_arg(char kind) {
    switch (kind) {
        case 'u':
            return "an unsigned 64-bit number (decimal, 0x hex or 0 octal)";
        case 'p':
            return "a port number of at most 0xffff";
        case 'i':
            return "a signed 32-bit number";
        case 'I':
            return "a signed 64-bit number";
        case 'x':
            return "0x and two hex digits per byte";
        case 'b':
            return "base64";
        default:
            return "a word";
    }
}

bool arg_ok(char kind, std::string_view word) {
    switch (kind) {
        case 'u':
            return parse_unsigned(word).has_value();
        case 'p':
            return parse_unsigned(word).value_or(0x10000) <= 0xffff;
        case 'i':
            return parse_signed(word, std::numeric_limits<std::int32_t>::min(),
                                std::numeric_limits<std::int32_t>::max())
                .has_value();
        case 'I':
            return parse_signed(word, std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::int64_t>::max())
                .has_value();
        case 'x':
            return word.size() >= 2 && word.starts_with("0x") && word.size() % 2 == 0 && all_hex(word.substr(2));
        case 'b':
            return base64::decode(word).has_value();
        default:
            return true;
    }
}

// The longest reply line `size` bytes of read (hex) or b64read can get, saturating.
std::uint64_t reply_bytes(std::string_view name, std::uint64_t size) {
    constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    if (name == "read") return size > (most - 5) / 2 ? most : 5 + 2 * size;
    return size > (most - 3) / 4 * 3 ? most : 3 + base64::encoded_size(size);
}

// The checks across arguments of one command.
tl::expected<void, error> check_sizes(std::string_view name, const std::vector<std::string_view>& words,
                                      std::size_t max_line_bytes) {
    const bool sized = name == "read" || name == "b64read" || name == "write" || name == "b64write" || name == "memset";
    if (sized) {
        const std::uint64_t size = *parse_unsigned(words[2]);
        if (size == 0) {
            return invalid(std::string(name) + ": a size of 0 (" +
                           (name == "read" ? "QEMU aborts on it" : "nothing to do") + ")");
        }
        if ((name == "read" || name == "b64read") && reply_bytes(name, size) > max_line_bytes) {
            return invalid(std::string(name) + ": the reply to " + std::to_string(size) +
                           " bytes would exceed max_line_bytes (" + std::to_string(max_line_bytes) +
                           "): read in pieces");
        }
        std::uint64_t data_size = size;
        if (name == "write") data_size = (words[3].size() - 2) / 2;
        if (name == "b64write") data_size = base64::decode(words[3])->size();
        if (data_size != size) {
            return invalid(std::string(name) + ": the size says " + std::to_string(size) + " bytes, the data has " +
                           std::to_string(data_size));
        }
    }
    if (name == "set_irq_in" && words[3].starts_with('-')) return invalid("set_irq_in: a negative IRQ number");
    return {};
}

}  // namespace

std::string quote(std::string_view line) {
    constexpr std::size_t most = 80;
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, wrongly) on "`" + std::string.
    std::string out = "`";
    out.append(line.substr(0, most));
    out += line.size() > most ? "…`" : "`";
    return out;
}

std::string hex(std::uint64_t value) {
    char digits[16];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), value, 16).ptr;
    return "0x" + std::string(digits, end);
}

std::string hex_data(std::span<const std::uint8_t> data) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(2 + 2 * data.size());
    out += "0x";
    for (std::uint8_t b : data) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

tl::expected<void, error> check_word(std::string_view what, std::string_view value) {
    if (value.empty()) return invalid(std::string(what) + " is empty");
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u == ' ') return invalid(std::string(what) + " contains a space: QEMU would split it");
        if (u < 0x20 || u == 0x7f) return invalid(std::string(what) + " contains a control character");
    }
    if (!engine::is_valid_utf8(value)) return invalid(std::string(what) + " is not valid UTF-8");
    return {};
}

tl::expected<void, error> check_line(std::string_view line, std::size_t max_line_bytes) {
    if (line.empty()) return invalid("an empty command (QEMU aborts on it)");
    for (char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if (u == '\n') return invalid("a line feed inside a command: one command per call");
        if (u == '\r') return invalid("a carriage return in a command: QEMU does not strip it");
        if (u < 0x20 || u == 0x7f) return invalid("a control character in a command");
    }
    if (!engine::is_valid_utf8(line)) return invalid("a command that is not valid UTF-8");
    if (line.front() == ' ') return invalid("a leading space (QEMU would read an empty command name)");
    if (line.back() == ' ') return invalid("a trailing space (QEMU would read an empty argument)");
    if (line.find("  ") != std::string_view::npos) return invalid("a double space (QEMU would read an empty argument)");

    std::vector<std::string_view> words;
    for (std::size_t at = 0; at <= line.size();) {
        const std::size_t space = std::min(line.find(' ', at), line.size());
        words.push_back(line.substr(at, space - at));
        at = space + 1;
    }
    const auto known =
        std::find_if(std::begin(rules), std::end(rules), [&](const rule& r) { return r.name == words[0]; });
    if (known == std::end(rules)) return {};  // QEMU answers FAIL Unknown command
    const std::size_t given = words.size() - 1;
    if (given < known->required || given > known->args.size()) {
        const std::string range = known->required == known->args.size()
                                      ? std::to_string(known->required)
                                      : std::to_string(known->required) + " or " + std::to_string(known->args.size());
        return invalid(std::string(known->name) + " takes " + range + (range == "1" ? " argument" : " arguments") +
                       ", not " + std::to_string(given));
    }
    for (std::size_t i = 0; i < given; ++i) {
        if (!arg_ok(known->args[i], words[i + 1])) {
            return invalid(std::string(known->name) + ": argument " + std::to_string(i + 1) + " `" +
                           std::string(words[i + 1].substr(0, 40)) + "` is not " + describe_arg(known->args[i]));
        }
    }
    return check_sizes(known->name, words, max_line_bytes);
}

tl::expected<inbound, error> classify(std::string_view line) {
    inbound in;
    const auto keyword = [&](std::string_view word, inbound::kind what) {
        if (!line.starts_with(word)) return false;
        const std::string_view rest = line.substr(word.size());
        if (!rest.empty() && rest[0] != ' ') return false;
        in.what = what;
        in.bare = rest.empty();
        in.text = in.bare ? rest : rest.substr(1);
        return true;
    };
    if (keyword("OK", inbound::kind::ok) || keyword("FAIL", inbound::kind::fail)) return in;
    if (keyword("ERR", inbound::kind::fail)) {
        in.err = true;
        return in;
    }
    if (line.starts_with("IRQ ")) {
        std::string_view rest = line.substr(4);
        in.what = inbound::kind::irq;
        if (rest.starts_with("raise ")) {
            in.irq.raised = true;
        } else if (!rest.starts_with("lower ")) {
            return violation("an IRQ line that neither raises nor lowers: " + quote(line));
        }
        rest.remove_prefix(6);
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), in.irq.line, 10);
        const bool canonical = !rest.empty() && (rest[0] != '0' || rest.size() == 1);
        if (ec != std::errc() || end != rest.data() + rest.size() || !canonical) {
            return violation("an IRQ line without a valid IRQ number: " + quote(line));
        }
        return in;
    }
    if (line.empty()) return violation("an empty line");
    if (line.back() == '\r') return violation("a line ending in CR LF: " + quote(line));
    return violation("a line that is not OK, FAIL, ERR or IRQ: " + quote(line));
}

tl::expected<reply_value, error> decode(const expect& e, const inbound& ok, std::string_view name) {
    const std::string_view t = ok.text;
    const auto wrong = [&](const char* wanted) {
        return violation("the reply to " + std::string(name) + " is not " + wanted + ": " +
                         quote(ok.bare ? std::string("OK") : "OK " + std::string(t)));
    };
    switch (e.what) {
        case expect::kind::bare:
            if (!ok.bare) return wrong("a bare OK");
            return std::monostate{};
        case expect::kind::number: {
            const std::string_view digits = t.substr(std::min<std::size_t>(2, t.size()));
            std::uint64_t value = 0;
            const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
            const bool parsed = !ok.bare && t.starts_with("0x") && !digits.empty() && digits.size() <= 16 &&
                                all_hex(digits) && ec == std::errc() && end == digits.data() + digits.size();
            if (!parsed || value > e.n) {
                return wrong(e.n == 0xff         ? "an 8-bit value"
                             : e.n == 0xffff     ? "a 16-bit value"
                             : e.n == 0xffffffff ? "a 32-bit value"
                                                 : "a 64-bit value");
            }
            return value;
        }
        case expect::kind::hex_bytes: {
            if (ok.bare || !t.starts_with("0x") || t.size() - 2 != 2 * e.n || !all_hex(t.substr(2))) {
                return wrong(("0x and " + std::to_string(2 * e.n) + " hex digits").c_str());
            }
            bytes data(e.n);
            for (std::size_t i = 0; i < data.size(); ++i) {
                data[i] = static_cast<std::uint8_t>(nibble(t[2 + 2 * i]) << 4 | nibble(t[3 + 2 * i]));
            }
            return data;
        }
        case expect::kind::base64_bytes: {
            auto data = ok.bare ? std::nullopt : base64::decode(t);
            if (!data || data->size() != e.n) return wrong(("base64 of " + std::to_string(e.n) + " bytes").c_str());
            return std::move(*data);
        }
        case expect::kind::endianness:
            if (!ok.bare && t == "little") return qtest::endianness::little;
            if (!ok.bare && t == "big") return qtest::endianness::big;
            return wrong("little or big");
        case expect::kind::clock: {
            std::int64_t ns = 0;
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ns, 10);
            if (ok.bare || t.empty() || ec != std::errc() || end != t.data() + t.size()) {
                return wrong("a clock value in nanoseconds");
            }
            return std::chrono::nanoseconds(ns);
        }
        case expect::kind::text:
            break;
    }
    return std::string(t);
}

}  // namespace qwire::qtest::wire
