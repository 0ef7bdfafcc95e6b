// The calls every sans-I/O session (the three protocol clients and the QMP server) answers the
// same way, written once over the session's implementation. An Impl has is_open(),
// require_open(), end_session(errc for each pending request, error reason), advance(input) on
// its lifecycle table, an output_queue `output` and an event_queue `events`.
#pragma once

#include <optional>
#include <string_view>
#include <system_error>
#include <variant>

#include <tl/expected.hpp>

#include "engine/session_input.hpp"
#include "qwire/error.hpp"
#include "qwire/session.hpp"

namespace qwire::engine {

/// receive_eof(): the session ends, orderly between messages, lost inside one (`frame` names
/// it: "message", "line"); pending requests fail with connection_lost.
template <class Impl>
tl::expected<void, error> end_at_eof(Impl& impl, bool inside_frame, std::string_view frame) {
    if (auto open = impl.require_open(); !open) return open;
    impl.end_session(errc::connection_lost, eof_reason(inside_frame, frame));
    return {};
}

/// transport_failed(ec): the session ends with connection_lost, `ec` as its cause.
template <class Impl>
tl::expected<void, error> end_on_transport_failure(Impl& impl, std::error_code ec) {
    if (auto open = impl.require_open(); !open) return open;
    impl.end_session(errc::connection_lost, error(errc::connection_lost, "the transport failed", ec));
    return {};
}

/// close(): the session ends with closed; pending requests fail with cancelled.
template <class Impl>
tl::expected<void, error> close_session(Impl& impl) {
    if (auto open = impl.require_open(); !open) return open;
    impl.end_session(errc::cancelled, error(errc::closed, "close() was called"));
    return {};
}

/// pending_output(): what waits to be written, nothing once the session is over.
template <class Impl>
output_view pending_output_of(const Impl& impl) noexcept {
    if (!impl.is_open()) return {};
    return impl.output.pending();
}

/// next_event(): the oldest undelivered event; handing out the disconnect makes the lifecycle's
/// last move (`delivered`).
template <class Impl, class Input>
auto pop_event(Impl& impl, Input delivered) {
    auto e = impl.events.pop();
    if (e && std::holds_alternative<disconnect>(*e)) impl.advance(delivered);
    return e;
}

}  // namespace qwire::engine
