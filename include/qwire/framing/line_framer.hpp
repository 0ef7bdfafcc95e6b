/// \file
/// \brief Splits a byte stream into LF-terminated lines (qtest).
///
/// Each line is returned without its LF. A CR is not stripped: qtest treats `cmd\r` as a
/// different command, and the client layer decides what that means.
///
/// Usage and lifetimes are those of json_framer: feed(bytes), then call next() until it returns
/// need_more. The fed bytes must stay valid until then; a line view stays valid until the next
/// feed() or reset(). A line that arrives whole in one feed() is returned without copying.
///
/// Errors (status error): frame_too_large when a line grows past max_line_bytes (reported at the
/// first byte over the limit; the rest is never buffered). Lines completed before it are returned
/// first. After an error the framer is failed() and discards input until reset().
///
/// Not thread-safe; distinct framers are independent; movable.
#pragma once

#include <cstddef>
#include <string_view>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/framing/frame_buffer.hpp"
#include "qwire/framing/frame_result.hpp"

namespace qwire {

/// The limit of a line_framer.
struct line_framer_options {
    std::size_t max_line_bytes = 1024 * 1024;  ///< bytes of one line, its LF excluded
};

/// Splits a byte stream into LF-terminated lines (see the file comment).
class QWIRE_API line_framer {
public:
    /// A framer waiting for the first byte of a line.
    explicit line_framer(line_framer_options options = {}) : options_(options) {}

    // Getters.
    /// The options given at construction.
    [[nodiscard]] const line_framer_options& options() const noexcept { return options_; }
    /// True after an error, until reset().
    [[nodiscard]] bool failed() const noexcept { return failed_; }
    /// True while a line has started but its LF has not arrived.
    [[nodiscard]] bool in_frame() const noexcept { return !failed_ && buffer_.held() > 0; }
    /// Bytes of the incomplete line copied from earlier input.
    [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffer_.held(); }

    // Inputs.
    /// Hands the framer more bytes (not copied). Error invalid_state if the previous input was
    /// not yet drained by next() returning need_more: drain it, then feed.
    [[nodiscard]] tl::expected<void, error> feed(std::string_view bytes);
    /// Drops all input, a partial line and a failure.
    void reset() noexcept;

    // Outputs.
    /// The next line or error from the fed bytes; need_more when they are used up.
    [[nodiscard]] frame_result next();

private:
    line_framer_options options_;
    bool failed_ = false;
    std::string_view input_;
    framing_detail::frame_buffer buffer_;
};

}  // namespace qwire
