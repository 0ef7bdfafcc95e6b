// The qtest wire format: command lines as QEMU 7.2 parses them (softmmu/qtest.c splits each
// line on every single space and g_asserts on what it cannot parse), and reply lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/qtest/events.hpp"

namespace qwire::qtest::wire {

/// How the OK reply of a command decodes (see the table in qwire/qtest/events.hpp).
struct expect {
    enum class kind : std::uint8_t { bare, number, hex_bytes, base64_bytes, endianness, clock, text };
    kind what = kind::bare;
    std::uint64_t n = 0;  ///< number: the largest value; hex_bytes, base64_bytes: the exact size

    static constexpr expect number(std::uint64_t max) { return {kind::number, max}; }
};

/// A peer line quoted for an error detail, cut after 80 bytes.
[[nodiscard]] std::string quote(std::string_view line);

/// `0x` and the value in lowercase hex, no leading zeros: "0x0", "0x1f".
[[nodiscard]] std::string hex(std::uint64_t value);

/// `0x` and two lowercase hex digits per byte.
[[nodiscard]] std::string hex_data(std::span<const std::uint8_t> data);

/// invalid_argument unless `value` is one word QEMU reads back as it is: not empty, no space,
/// no control character, valid UTF-8. `what` names the argument in the error.
[[nodiscard]] tl::expected<void, error> check_word(std::string_view what, std::string_view value);

/// invalid_argument unless QEMU can take `line` (without its LF) safely: not empty, printable
/// valid UTF-8, words separated by single spaces, and, for a command QEMU knows, exactly the
/// arguments it parses, each one it can parse, no zero sizes, data of the stated size, and a
/// reply that fits in `max_line_bytes`. The detail says which rule the line broke.
[[nodiscard]] tl::expected<void, error> check_line(std::string_view line, std::size_t max_line_bytes);

/// One received line, classified.
struct inbound {
    enum class kind : std::uint8_t { ok, fail, irq };
    kind what = kind::ok;
    bool bare = false;      ///< ok, fail: nothing after the keyword
    bool err = false;       ///< fail: the keyword was ERR
    std::string_view text;  ///< ok: the text after "OK "; fail: the message
    qtest::irq irq;         ///< irq: the line and level
};

/// Classifies a line (without its LF). unexpected_message when it is not a well-formed OK,
/// FAIL, ERR or IRQ line.
[[nodiscard]] tl::expected<inbound, error> classify(std::string_view line);

/// Decodes an OK reply for a command `name` expecting `e`. unexpected_message when the value is
/// not what that command gets.
[[nodiscard]] tl::expected<reply_value, error> decode(const expect& e, const inbound& ok, std::string_view name);

}  // namespace qwire::qtest::wire
