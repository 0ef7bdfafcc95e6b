// Test harness for qwire::qmp::server: events as readable strings, a server fed scripted
// input, and a client and a server joined in memory, each run whole, byte by byte and at
// every two-piece split.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qmp_harness.hpp"
#include "qwire/qmp/server.hpp"
#include "testing.hpp"

namespace qwire::test {

/// One line per event, e.g. "command 0 query-status {} id=1", "command 1 yank {} id="o" oob",
/// "ready oob", "violation malformed_json: JSON parse error, expecting value",
/// "request_failed 0 connection_lost", "disconnect peer_closed".
std::string describe(const qmp::server_event& event);

/// What the application does with each command the server hands out.
using responder = std::function<void(qmp::server&, const qmp::command&)>;

/// Answers every command at once with {} (query-status with QEMU 7.2's running status).
void answer_at_once(qmp::server& server, const qmp::command& c);

/// `{"status": "running", "singlestep": false, "running": true}`.
nlohmann::json running_status();

/// Pulls the server's events, describing each into `log` and passing commands to `respond`,
/// until none is left (answers can let the server read more input, hence more events).
void serve(qmp::server& server, const responder& respond, std::vector<std::string>& log);

struct server_log {
    std::vector<std::string> events;
    std::string written;
    friend bool operator==(const server_log&, const server_log&) = default;
};
std::ostream& operator<<(std::ostream& out, const server_log& log);

/// A server fed pieces of input; its output is written after each piece.
struct server_scenario {
    qmp::server_options options;
    responder respond = answer_at_once;
    /// Called after each piece (done false) and after the last (done true), until it answers
    /// nothing more: for applications that answer later.
    std::function<void(qmp::server&, bool done)> idle = [](qmp::server&, bool) {};
    std::function<void(qmp::server&)> after = [](qmp::server&) {};

    server_log run(const pieces& input) const;
    /// Runs it whole, byte by byte and at every two-piece split; checks each gives `expected`
    /// events and the same output. Returns the whole run's log.
    server_log check(std::string_view input, const std::vector<std::string>& expected,
                     std::size_t all_splits_up_to = 4096) const;
};

struct joined_log {
    std::vector<std::string> client_events;
    std::vector<std::string> server_events;
    std::string c2s;
    std::string s2c;
    friend bool operator==(const joined_log&, const joined_log&) = default;
};
std::ostream& operator<<(std::ostream& out, const joined_log& log);

/// A qmp::client and a qmp::server joined in memory. Bytes flow both ways until neither side
/// has anything to say; a run's pieces give the offsets at which every transfer is cut, in both
/// directions (so "byte by byte" moves one byte at a time each way).
struct joined_scenario {
    qmp::client_options client_options;
    qmp::server_options server_options;
    /// Runs first, e.g. to execute commands (they wait for the handshake).
    std::function<void(qmp::client&)> start = [](qmp::client&) {};
    /// Sees each client event after it is logged, e.g. to execute more commands.
    std::function<void(qmp::client&, const qmp::client_event&)> on_client_event = [](qmp::client&, const qmp::client_event&) {};
    responder respond = answer_at_once;
    /// Runs once the exchange is quiet, e.g. to close one side; the exchange then goes on.
    std::function<void(qmp::client&, qmp::server&)> finish = [](qmp::client&, qmp::server&) {};

    joined_log run(const pieces& cuts) const;
    /// Runs it with no cuts, byte by byte and cut at every offset; checks every run gives the
    /// same log. Returns that log.
    joined_log check(std::size_t all_splits_up_to = 4096) const;
};

}  // namespace qwire::test
