/// \file
/// \brief Splits a byte stream into complete top-level JSON values.
///
/// QMP and the guest agent send JSON values back to back: one per CRLF line (QEMU), one per LF
/// line (qemu-ga), several on one line, or one spread over many lines (`-qmp ...,pretty=on`).
/// So the framer does not split on newlines: it matches `{}`/`[]`, knows strings and their
/// escapes (a `}` or a newline inside a string is not structure), and skips whitespace (space,
/// tab, CR, LF) between values. Top-level strings are framed at their closing quote; a bare
/// top-level number or literal (`42`, `true`) when the byte after it arrives.
///
/// It only finds boundaries; it never parses into objects and never validates UTF-8. It checks
/// that brackets match, enforces the frame byte and nesting depth limits at the byte that breaks
/// them (the rest of an oversized frame is never buffered), and rejects a byte that cannot
/// start a value at top level.
///
/// Usage: feed(bytes), then call next() until it returns need_more; only then feed again.
///
///     framer.feed(bytes).value();
///     for (auto r = framer.next(); r.status != qwire::frame_status::need_more; r = framer.next())
///         ...
///
/// Lifetimes: feed() does not copy. The fed bytes must stay valid until next() returns
/// need_more; by then the framer has copied whatever it still needs. A frame view stays valid
/// until the next call to feed() or reset() (and, when it points into the fed bytes, while those
/// bytes do). Frames that arrive whole in one feed() are returned without copying.
///
/// Errors (status error): frame_too_large, nesting_too_deep, malformed_json (a byte that cannot
/// start a value at top level, or a closing bracket that does not match). Frames completed
/// before the bad byte are returned first. After an error the framer is failed(): it discards
/// input until the reset byte, when one is configured, and otherwise until reset(). For QMP an
/// error is fatal: disconnect.
///
/// Reset byte (the guest agent's 0xFF): wherever it appears, inside a frame or a string too, it
/// discards the partial frame, clears a failure, and is reported as status reset.
///
/// Not thread-safe; distinct framers are independent; movable.
///
/// Speed: inside a container the framer classifies 64 bytes at a time with vector compares
/// (AVX2 or SSE2, picked at run time for the CPU) and finds strings and brackets with bit
/// arithmetic; results are the same byte for byte as scanning one byte at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/framing/frame_buffer.hpp"
#include "qwire/framing/frame_result.hpp"

namespace qwire {

namespace framing_detail {
struct block_masks;
struct framer_access;
using block_classifier = block_masks (*)(const unsigned char* block, unsigned char reset_byte) noexcept;
}  // namespace framing_detail

/// The limits of a json_framer, and the guest agent's reset byte.
struct json_framer_options {
    std::size_t max_frame_bytes = 10 * 1024 * 1024;  ///< bytes of one value, whitespace excluded
    std::size_t max_depth = 1024;                    ///< nested arrays and objects in one value
    std::optional<std::uint8_t> reset_byte;          ///< e.g. 0xFF for the guest agent
};

/// Splits a byte stream into complete top-level JSON values (see the file comment).
class QWIRE_API json_framer {
public:
    /// A framer waiting for the first byte of a value.
    explicit json_framer(json_framer_options options = {});

    // Getters.
    /// The options given at construction.
    [[nodiscard]] const json_framer_options& options() const noexcept { return options_; }
    /// True after an error, until the reset byte or reset().
    [[nodiscard]] bool failed() const noexcept { return state_ == state::failed; }
    /// True while a value has started but not ended (an EOF now would cut a message).
    [[nodiscard]] bool in_frame() const noexcept;
    /// Bytes of the incomplete frame copied from earlier input.
    [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffer_.held(); }

    // Inputs.
    /// Hands the framer more bytes (not copied; see Lifetimes). Error invalid_state if the
    /// previous input was not yet drained by next() returning need_more: drain it, then feed.
    [[nodiscard]] tl::expected<void, error> feed(std::string_view bytes);
    /// Drops all input, partial frames and a failure.
    void reset() noexcept;

    // Outputs.
    /// The next frame, reset or error from the fed bytes; need_more when they are used up.
    [[nodiscard]] frame_result next();

private:
    friend struct framing_detail::framer_access;
    enum class state : std::uint8_t { idle, container, string, escape, scalar, failed };
    enum class scan : std::uint8_t { incomplete, complete, reset, error };

    frame_result start_value();
    frame_result continue_value();
    scan scan_bytes(const unsigned char*& p, const unsigned char* stop);
    scan scan_bytewise(const unsigned char*& p, const unsigned char* stop);
    scan scan_block(const unsigned char*& p);
    scan take_bracket(unsigned char c);
    frame_result discard_until_reset();
    frame_result fail(errc code, std::string detail);
    frame_result take_reset(std::size_t offset);

    json_framer_options options_;
    std::array<std::uint8_t, 256> class_{};  // byte classes, see json_framer.cpp
    framing_detail::block_classifier classify_;  // nullptr: one byte at a time
    std::uint64_t reset_bits_ = 0;               // all ones when a reset byte is configured
    state state_ = state::idle;
    std::string_view input_;  // fed bytes not yet consumed; a frame in progress starts here
    std::string brackets_;    // open brackets of the current frame, innermost last
    errc scan_error_ = errc::malformed_json;  // set by scan_bytes() when it returns scan::error
    framing_detail::frame_buffer buffer_;
};

}  // namespace qwire
