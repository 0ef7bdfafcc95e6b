/// \file
/// \brief The one error type of qwire.
///
/// Every fallible call in qwire returns `tl::expected<T, qwire::error>`; protocol violations and
/// lost connections are delivered as events carrying a `qwire::error`. An error is a value: a
/// `qwire::errc` (also usable as a `std::error_code` in the category named "qwire"), a human
/// detail string, and, for transport failures, the `std::error_code` that caused it.
///
/// The codes are grouped by who caused the error, because that decides what the caller does next:
///
/// ~~~{.txt}
///   caller     the call was wrong for the current state or its arguments. Nothing changed;
///              fix the call (or wait, for queue_full / backlog_full) and try again.
///   peer       the other side sent something that breaks the protocol. Fatal codes end the
///              connection (the core asks for a disconnect); non-fatal ones are reported and
///              the connection goes on.
///   transport  the connection or the clock ended a request or the session: connection_lost,
///              timed_out, cancelled, handshake_timed_out, closed, peer_closed.
/// ~~~
///
/// `is_fatal()`: the session that produced it cannot continue. `is_retryable()`: the same
/// request may succeed if tried again later (possibly on a new connection).
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "qwire/export.hpp"

namespace qwire {

/// The error codes, numbered by who caused them: 1..99 the caller, 100..199 the peer,
/// 200..299 the transport or time. Usable as a std::error_code (see make_error_code()).
enum class errc : int {
    // Caused by the caller (1..99). The call had no effect.
    invalid_state = 1,    ///< the call is not allowed in the current state
    invalid_argument,     ///< an argument is malformed or out of range
    queue_full,           ///< too many commands are already queued; retry after replies arrive
    backlog_full,         ///< the output backlog limit is reached; retry after output drains
    unknown_request,      ///< no pending request has that id
    not_supported,        ///< the feature is not available on this session (e.g. OOB not enabled)

    // Caused by the peer (100..199).
    frame_too_large = 100,  ///< a frame (JSON value or line) exceeds the frame byte limit (fatal)
    nesting_too_deep,       ///< a JSON value nests deeper than the depth limit (fatal)
    malformed_json,         ///< bytes that are not JSON: bad top-level byte, mismatched bracket (fatal)
    invalid_utf8,           ///< a frame is not valid UTF-8 (fatal)
    unexpected_message,     ///< valid JSON or line that is not a valid protocol message (fatal)
    unknown_reply_id,       ///< a reply names no pending request; it was dropped (not fatal)
    command_failed,         ///< the server answered a command with an error (see error_class())

    // Caused by the transport or by time (200..299).
    connection_lost = 200,  ///< a transport failure or an EOF inside a message; see error::cause()
    timed_out,              ///< the request's deadline passed with no reply (session goes on)
    cancelled,              ///< the request was cancelled locally (cancel() or close())
    handshake_timed_out,    ///< greeting or negotiation did not complete in time (fatal)
    closed,                 ///< the session was closed locally with close() (fatal)
    peer_closed,            ///< the peer closed the connection between messages (fatal, orderly)
};

/// Every code, in declaration order (for tests and tools that list them).
inline constexpr errc all_errc[] = {
    errc::invalid_state,    errc::invalid_argument,   errc::queue_full,        errc::backlog_full,
    errc::unknown_request,  errc::not_supported,      errc::frame_too_large,   errc::nesting_too_deep,
    errc::malformed_json,   errc::invalid_utf8,       errc::unexpected_message, errc::unknown_reply_id,
    errc::command_failed,
    errc::connection_lost,  errc::timed_out,          errc::cancelled,         errc::handshake_timed_out,
    errc::closed,           errc::peer_closed,
};

/// The enumerator's name, e.g. "frame_too_large"; "unknown" for a value that names no code.
[[nodiscard]] QWIRE_API std::string_view to_string(errc code) noexcept;

/// Who caused an error: decides what the caller does next (see the file comment).
enum class error_source { caller, peer, transport };

/// The source of a code, from its numeric group.
[[nodiscard]] QWIRE_API error_source source_of(errc code) noexcept;

/// True for the codes after which the session cannot continue.
[[nodiscard]] QWIRE_API bool is_fatal(errc code) noexcept;

/// True for the codes where trying the same request again later may succeed.
[[nodiscard]] QWIRE_API bool is_retryable(errc code) noexcept;

/// The `std::error_category` named "qwire".
[[nodiscard]] QWIRE_API const std::error_category& error_category() noexcept;

/// Makes `errc` usable as a `std::error_code` (found by argument-dependent lookup).
[[nodiscard]] QWIRE_API std::error_code make_error_code(errc code) noexcept;

/// An error value: a code, a human detail, the transport's own error (for connection_lost)
/// and, for command_failed, the server's error class. Copyable; compare with ==.
class QWIRE_API error {
public:
    /// `detail` says what exactly went wrong (e.g. which byte, which limit); `cause` is the
    /// transport's own error for connection_lost, empty otherwise.
    explicit error(errc code, std::string detail = {}, std::error_code cause = {});

    /// An error reply from the server as an error value (errc::command_failed): for APIs that
    /// return one result for a command, like the blocking client.
    [[nodiscard]] static error from_reply(std::string error_class, std::string desc);

    /// What went wrong; its group (source()) says who caused it.
    [[nodiscard]] errc code() const noexcept { return code_; }
    /// code() as a std::error_code in the "qwire" category.
    [[nodiscard]] std::error_code error_code() const noexcept { return make_error_code(code_); }
    /// What exactly went wrong, for people: which byte, which limit, the server's "desc".
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }
    /// For connection_lost: the transport's error (e.g. ECONNRESET); empty otherwise.
    [[nodiscard]] std::error_code cause() const noexcept { return cause_; }
    /// For command_failed: the server's error class, e.g. "CommandNotFound"; empty otherwise.
    [[nodiscard]] const std::string& error_class() const noexcept { return error_class_; }
    /// Who caused it: the caller, the peer or the transport.
    [[nodiscard]] error_source source() const noexcept { return source_of(code_); }
    /// True when the session that produced this error cannot continue.
    [[nodiscard]] bool is_fatal() const noexcept { return qwire::is_fatal(code_); }
    /// True when the same request may succeed if tried again later.
    [[nodiscard]] bool is_retryable() const noexcept { return qwire::is_retryable(code_); }

    /// "<code message>: <detail> (cause: <cause message>)", leaving out empty parts.
    [[nodiscard]] std::string message() const;

    /// Equal when every member is.
    friend bool operator==(const error&, const error&) = default;

private:
    errc code_;
    std::string detail_;
    std::error_code cause_;
    std::string error_class_;
};

}  // namespace qwire

template <>
struct std::is_error_code_enum<qwire::errc> : std::true_type {};
