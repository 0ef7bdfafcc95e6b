// Test harness for qwire::qmp::client: events as readable strings, a handshake, and scenarios
// that run whole, byte by byte and at every two-piece split.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qwire/qmp/client.hpp"
#include "testing.hpp"

namespace qwire::test {

/// One line per event, e.g. "reply 0 {"status":"running"}", "event STOP null 1.2",
/// "request_failed 2 connection_lost", "disconnect peer_closed".
std::string describe(const qmp::client_event& event);

/// Pulls every waiting event, described.
std::vector<std::string> drain_events(qmp::client& client);

/// Writes everything the client wants to write; returns it.
std::string drain_output(qmp::client& client);

/// A greeting offering OOB and the capabilities reply, as QEMU 7.2 sends them.
inline constexpr std::string_view greeting_oob =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": "
    "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n";
inline constexpr std::string_view greeting_plain =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 8}, \"package\": \"\"}, "
    "\"capabilities\": []}}\r\n";
inline constexpr std::string_view caps_ok = "{\"return\": {}}\r\n";

/// What a scenario produced: every event described, and every byte the client wrote.
struct session_log {
    std::vector<std::string> events;
    std::string written;
    friend bool operator==(const session_log&, const session_log&) = default;
};

std::ostream& operator<<(std::ostream& out, const session_log& log);

/// A scenario: make a client, run `before` on it (e.g. execute commands), feed the pieces
/// (writing all output after each), then run `after` (e.g. receive_eof), collecting the log.
struct scenario {
    qmp::client_options options;
    std::function<void(qmp::client&)> before = [](qmp::client&) {};
    std::function<void(qmp::client&)> after = [](qmp::client&) {};

    session_log run(const pieces& input) const;
    /// Runs it on the whole input, byte by byte and at every two-piece split; checks each gives
    /// `expected` events (and the same output as the whole run). Returns the whole run's log.
    session_log check(std::string_view input, const std::vector<std::string>& expected,
                      std::size_t all_splits_up_to = 4096) const;
};

/// A client that has completed the handshake (greeting with OOB offered, caps accepted) and
/// whose events and output were drained.
qmp::client ready_client(qmp::client_options options = {}, std::string_view greeting = greeting_oob);

}  // namespace qwire::test
