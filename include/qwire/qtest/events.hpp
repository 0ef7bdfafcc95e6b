/// \file
/// \brief What a qwire::qtest::client hands out, one value at a time.
///
/// Every command gets exactly one outcome: reply, error_reply or request_failed. A reply carries
/// its value already decoded for the command that asked for it, as one alternative of
/// reply_value (the table below); the alternative is fixed by the command, so code that sent a
/// readl may use std::get<std::uint64_t>(r.value) without a check:
///
/// ~~~{.txt}
///   command                                         OK line                 reply_value holds
///   readb/readw/readl/readq                         OK 0x%016x              std::uint64_t
///   inb/inw/inl                                     OK 0x%04x               std::uint64_t
///   read                                            OK 0x<2×size hex>       bytes
///   b64read                                         OK <base64>             bytes
///   clock_step/clock_step_next/clock_set            OK <ns>                 std::chrono::nanoseconds
///   endianness                                      OK little / OK big      qtest::endianness
///   raw                                             OK [text]               std::string (the text)
///   every other command                             OK                      std::monostate
/// ~~~
///
/// IRQ lines (`IRQ raise N`, `IRQ lower N`) complete nothing: they become irq events, in the
/// order they arrived relative to the replies.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "qwire/session.hpp"

namespace qwire::qtest {

/// Guest memory contents, as read or written.
using bytes = std::vector<std::uint8_t>;

/// The target's byte order, the answer to `endianness`.
enum class endianness : std::uint8_t { little, big };

/// A decoded OK value; which alternative is fixed by the command (see the file comment).
using reply_value =
    std::variant<std::monostate, std::uint64_t, bytes, std::chrono::nanoseconds, qtest::endianness, std::string>;

/// QEMU answered the command `id` with OK.
struct reply {
    request_id id;  ///< the command it answers
    reply_value value;  ///< decoded for that command (see the table above)
    /// Equal when every member is.
    friend bool operator==(const reply&, const reply&) = default;
};

/// QEMU answered the command `id` with `FAIL [message]` (e.g. "Unknown command 'foo'",
/// "Unknown device", or nothing at all for module_load), or with `ERR message`: QEMU 7.2 sends
/// `ERR invalid argument size` for write/b64write data shorter than 3 characters, which this
/// client never sends (it refuses data that does not match the size), so ERR means a server
/// that is not QEMU 7.2. Either way the session goes on.
struct error_reply {
    request_id id;  ///< the command it answers
    std::string message;  ///< the text after "FAIL " or "ERR ", verbatim; empty for a bare FAIL
    bool err = false;     ///< the line started with ERR rather than FAIL
    /// Equal when every member is.
    friend bool operator==(const error_reply&, const error_reply&) = default;
};

/// An intercepted IRQ line changed level (`IRQ raise N` / `IRQ lower N`). client::irq_raised()
/// tells the level at any time, even when irq events were dropped by the overflow policy.
struct irq {
    std::uint32_t line = 0;  ///< the GPIO line number N
    bool raised = false;  ///< true for raise, false for lower
    /// Equal when every member is.
    friend bool operator==(const irq&, const irq&) = default;
};

/// What a qtest::client hands out from next_event(): one closed set of values.
using client_event = std::variant<reply, error_reply, irq, request_failed, protocol_violation, disconnect>;

}  // namespace qwire::qtest
