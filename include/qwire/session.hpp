/// \file
/// \brief Vocabulary shared by every protocol client (QMP, qtest, guest agent).
///
/// Each client hands out events from one closed std::variant; the three events below end every
/// variant, with the same meaning everywhere:
///   request_failed      a request ended without a reply: timed_out, cancelled or connection_lost.
///                       Every request fails at most once and, at a disconnect, in request order.
///   protocol_violation  the peer broke the protocol in a way the session survives.
///   disconnect          always the last event: the adapter closes the transport. Its reason
///                       names the root cause (the violation, EOF, the transport's error, close()).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "qwire/error.hpp"

namespace qwire {

/// Names one request of one session; handed out by execute() in increasing order.
struct request_id {
    std::uint64_t value = 0;  ///< unique within one session
    /// Ordered by value: later requests have greater ids.
    friend auto operator<=>(const request_id&, const request_id&) = default;
};

/// What the adapter must write next: bytes, plus file descriptors that must travel (SCM_RIGHTS)
/// with the first byte of `bytes`. Write what the OS takes, then call consume_output(n).
/// The descriptors stay owned by whoever passed them to execute().
struct output_view {
    std::string_view bytes;  ///< bytes to write; valid until the session is next called
    std::span<const int> fds;  ///< descriptors to send with the first byte (SCM_RIGHTS)
};

/// What happens when the undelivered-event limit is reached. Replies and request outcomes are
/// never dropped; only the peer's asynchronous events are, and each drop is counted.
enum class overflow_policy : std::uint8_t {
    drop_oldest,  ///< make room by dropping the oldest undelivered event
    drop_newest,  ///< drop the event that just arrived
};

/// Direction of a message shown to a message observer.
enum class direction : std::uint8_t { inbound, outbound };

/// A request ended without a reply: it timed out, was cancelled, or the connection ended.
/// Every pending request gets exactly one outcome; this is it when no reply came.
struct request_failed {
    request_id id;  ///< the request that failed
    qwire::error error;  ///< timed_out, cancelled or connection_lost
    /// Equal when every member is.
    friend bool operator==(const request_failed&, const request_failed&) = default;
};

/// The peer broke the protocol in a way the session survives (e.g. a reply with an id
/// nobody sent): reported, and the session goes on.
struct protocol_violation {
    qwire::error error;  ///< a non-fatal peer error, e.g. unknown_reply_id
    /// Equal when every member is.
    friend bool operator==(const protocol_violation&, const protocol_violation&) = default;
};

/// The session is over: always the last event. The adapter closes the transport.
struct disconnect {
    qwire::error reason;  ///< why: the root cause (peer_closed, closed, connection_lost, a fatal peer error…)
    /// Equal when every member is.
    friend bool operator==(const disconnect&, const disconnect&) = default;
};

}  // namespace qwire
