// Rules every client applies to its inputs, in one place: how fed bytes go through a framer,
// what an EOF means, and how a request's deadline is worked out from its options.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/framing/frame_result.hpp"
#include "qwire/time.hpp"

namespace qwire::engine {

/// Feeds `bytes` to `framer` and hands out what it yields while `open()` holds: each frame to
/// on_frame, each reset byte to on_reset, a framing error to on_error (which ends the session,
/// so open() turns false and the rest of the input is dropped). Returns the framer's refusal if
/// its previous input was not drained (it always is when every feed goes through here).
template <class Framer, class Open, class OnFrame, class OnReset, class OnError>
tl::expected<void, error> feed_frames(Framer& framer, std::string_view bytes, Open&& open, OnFrame&& on_frame,
                                      OnReset&& on_reset, OnError&& on_error) {
    if (auto fed = framer.feed(bytes); !fed) return fed;
    while (open()) {
        frame_result r = framer.next();
        if (r.status == frame_status::need_more) break;
        if (r.status == frame_status::frame) {
            on_frame(r.frame);
        } else if (r.status == frame_status::reset) {
            on_reset();
        } else {
            on_error(std::move(*r.error));
        }
    }
    return {};
}

/// Why the session ends at the peer's EOF: peer_closed between frames (orderly), connection_lost
/// when it cut a frame (`frame` names it: "message", "line").
[[nodiscard]] inline error eof_reason(bool inside_frame, std::string_view frame) {
    if (!inside_frame) return error(errc::peer_closed);
    return error(errc::connection_lost, "the peer closed the connection inside a " + std::string(frame));
}

/// A request's deadline: `deadline` when given, else `now` plus `timeout` (or, without one,
/// `default_timeout`), else none. invalid_argument when a timeout applies and `now` is missing.
[[nodiscard]] inline tl::expected<std::optional<time_point>, error> resolve_deadline(
    std::optional<time_point> deadline, std::optional<duration> timeout, std::optional<duration> default_timeout,
    std::optional<time_point> now) {
    if (deadline) return deadline;
    if (!timeout) timeout = default_timeout;
    if (!timeout) return std::nullopt;
    if (!now) return tl::unexpected(error(errc::invalid_argument, "a timeout applies but the options give no `now`"));
    return *now + *timeout;
}

}  // namespace qwire::engine
