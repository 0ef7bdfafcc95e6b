/// \file
/// \brief What a qwire::qga::client hands out, one value at a time.
///
/// The guest agent speaks a dialect of QMP, so replies, error replies, events and fire-and-forget
/// completions are the QMP client's own types (qwire/qmp/events.hpp); only `synced` is new.
#pragma once

#include <cstdint>
#include <variant>

#include "qwire/qmp/events.hpp"
#include "qwire/session.hpp"

namespace qwire::qga {

/// A sync() completed: the agent answered `guest-sync-delimited` with the token, after its 0xFF
/// sentinel. The client is `ready` and trusts the stream again. `id` is what sync() returned.
struct synced {
    request_id id;  ///< the sync() request that completed
    std::uint64_t token = 0;  ///< the token that came back (the one sync() sent)
    /// Equal when every member is.
    friend bool operator==(const synced&, const synced&) = default;
};

/// A successful reply: the `return` member, for the request `id`.
using reply = qmp::reply;
/// An error reply `{"error":{"class":…,"desc":…}}`, e.g. CommandNotFound for a disabled command.
using error_reply = qmp::error_reply;
/// An asynchronous event. qemu-ga sends none; a well-formed one (QMP's shape, timestamp included)
/// is delivered anyway, once the client is ready.
using event = qmp::event;
/// A fire-and-forget request (exec_options::expect_reply = false) reached its deadline with no
/// reply: for guest-shutdown and guest-suspend-*, that is success.
using no_reply = qmp::no_reply;

/// What a qga::client hands out from next_event(): one closed set of values.
using client_event =
    std::variant<synced, reply, error_reply, event, no_reply, request_failed, protocol_violation, disconnect>;

}  // namespace qwire::qga
