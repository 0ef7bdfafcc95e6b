/// \file
/// \brief What a qwire::qmp::client hands out, one value at a time.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwire/session.hpp"

namespace qwire::qmp {

/// When QEMU emitted an event. QEMU sends -1 for both when its clock failed.
struct timestamp {
    std::int64_t seconds = -1;  ///< seconds since the Unix epoch, or -1
    std::int64_t microseconds = -1;  ///< microseconds within the second, or -1
    /// Equal when every member is.
    friend bool operator==(const timestamp&, const timestamp&) = default;
};

/// The server's greeting: `{"QMP":{"version":…,"capabilities":[…]}}`.
struct greeting {
    nlohmann::json version;                 ///< e.g. {"qemu":{"major":7,…},"package":"…"}
    std::vector<std::string> capabilities;  ///< e.g. {"oob"}
    /// Equal when every member is.
    friend bool operator==(const greeting&, const greeting&) = default;
};

/// Negotiation is done; commands flow.
struct ready {
    bool oob_enabled = false;  ///< out-of-band commands may be sent
    /// Equal when every member is.
    friend bool operator==(const ready&, const ready&) = default;
};

/// A successful reply: the `return` member, for the request `id`.
struct reply {
    request_id id;  ///< the request it answers
    nlohmann::json value;  ///< the "return" member, verbatim
    /// Equal when every member is.
    friend bool operator==(const reply&, const reply&) = default;
};

/// An error reply: `{"error":{"class":…,"desc":…}}` for the request `id`.
struct error_reply {
    request_id id;  ///< the request it answers
    std::string error_class;  ///< e.g. "CommandNotFound", "GenericError"
    std::string desc;         ///< QEMU's human-readable description
    /// Equal when every member is.
    friend bool operator==(const error_reply&, const error_reply&) = default;
};

/// An asynchronous QEMU event such as STOP, RESUME or SHUTDOWN.
struct event {
    std::string name;  ///< e.g. "SHUTDOWN"
    nlohmann::json data;  ///< null when the event has no data
    qmp::timestamp timestamp;  ///< when QEMU emitted it
    /// Equal when every member is.
    friend bool operator==(const event&, const event&) = default;
};

/// A fire-and-forget request (exec_options::expect_reply = false) completed: its bytes were
/// written (no deadline), or its deadline passed with no error reply.
struct no_reply {
    request_id id;  ///< the fire-and-forget request whose deadline passed
    /// Equal when every member is.
    friend bool operator==(const no_reply&, const no_reply&) = default;
};

/// What a qmp::client hands out from next_event(): one closed set of values.
using client_event = std::variant<greeting, ready, reply, error_reply, event, no_reply, request_failed,
                                  protocol_violation, disconnect>;

}  // namespace qwire::qmp
