// Test harness for qwire::qmp::client: events as readable strings, a handshake, and scenarios
// that run whole, byte by byte and at every two-piece split.
#pragma once

#include <string>
#include <vector>

#include "client_scenario.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::test {

/// One line per event, e.g. "reply 0 {"status":"running"}", "event STOP null 1.2",
/// "request_failed 2 connection_lost", "disconnect peer_closed".
std::string describe(const qmp::client_event& event);

/// Pulls every waiting event, described.
std::vector<std::string> drain_events(qmp::client& client);

/// A greeting offering OOB and the capabilities reply, as QEMU 7.2 sends them.
inline constexpr std::string_view greeting_oob =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": "
    "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";
inline constexpr std::string_view greeting_plain =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 8}, \"package\": \"\"}, "
    "\"capabilities\": []}}\r\n";
inline constexpr std::string_view caps_ok = "{\"return\": {}}\r\n";

/// A qmp::client scenario (see client_scenario).
using scenario = client_scenario<qmp::client, &drain_events>;

/// A client that has completed the handshake (greeting with OOB offered, caps accepted) and
/// whose events and output were drained.
qmp::client ready_client(qmp::client_options options = {}, std::string_view greeting = greeting_oob);

}  // namespace qwire::test
