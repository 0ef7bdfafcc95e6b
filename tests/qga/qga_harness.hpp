// Test harness for qwire::qga::client: events as readable strings, a simulated clock, literal
// agent bytes, and scenarios whose actions (sync, execute, handle_timeout…) happen at fixed byte
// offsets of the input, so that every scenario runs whole, byte by byte and at every two-piece
// split and must give the same events, output and final state each time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client_scenario.hpp"
#include "qwire/qga/client.hpp"

namespace qwire::test {

/// One line per event, e.g. "synced 0 123456", "reply 1 {}", "error_reply 2 GenericError: no",
/// "no_reply 3", "request_failed 1 timed_out", "violation unknown_reply_id",
/// "disconnect peer_closed".
std::string describe(const qga::client_event& event);

/// Pulls every waiting event, described.
std::vector<std::string> drain_events(qga::client& client);

/// "ready pending=0 violations=0 discarded=1": the client's state and counters.
std::string summary(const qga::client& client);

/// The simulated clock's origin; tests speak of t0 + 5s.
inline const time_point t0 = time_point{} + std::chrono::seconds(1000);

/// What qemu-ga 7.2 sends, captured from a real agent.
namespace agent {
/// Its answer to the 0xFF byte when its parser held nothing (LF-terminated, no id).
inline constexpr std::string_view stray_ff_error =
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\n";
/// Its answer to the 0xFF byte when it held half a command, `{"execute":"guest-ping","argu`.
inline constexpr std::string_view half_command_error =
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\\"argu\\uFFFD'\"}}\n";
/// The 0xFF sentinel and `{"return": TOKEN}` with a newline, as guest-sync-delimited answers.
std::string sync_reply(std::uint64_t token);
}  // namespace agent

/// What the client writes for sync(token).
std::string sync_bytes(std::uint64_t token);

/// The agent's answer to sync(1): what after_sync() waits for.
inline const std::string synced_1 = "\xff{\"return\": 1}\n";

/// What a scenario produced: every event described, every byte written, the final summary.
struct qga_log {
    std::vector<std::string> events;
    std::string written;
    std::string end;  ///< summary() after the input and the last action, before events are pulled
    friend bool operator==(const qga_log&, const qga_log&) = default;
};

std::ostream& operator<<(std::ostream& out, const qga_log& log);

using action = std::function<void(qga::client&)>;

/// A scenario: a client with `options`; each action runs once the input has been fed up to its
/// byte offset (offset 0: before any byte; the input's size: after the last), in the order
/// given. Output is written after every piece and every action; events are pulled at the end.
struct scenario {
    qga::client_options options;
    std::vector<std::pair<std::size_t, action>> actions;

    /// Adds an action at a byte offset; returns *this.
    scenario& at(std::size_t offset, action a);

    qga_log run(const pieces& input) const;
    /// Runs the input whole, byte by byte and at every two-piece split; checks that each run
    /// gives `expected` events and the same log as the whole run. Returns the whole run's log.
    qga_log check(std::string_view input, const std::vector<std::string>& expected) const;
};

// Actions that REQUIRE success.
action sync_with(std::uint64_t token, qga::sync_options options = {});
action exec(std::string name, nlohmann::json arguments = nullptr, qga::exec_options options = {});
action timeout_at(time_point now);
action eof();

/// exec_options with an absolute deadline.
qga::exec_options by(time_point deadline, bool expect_reply = true);

/// sync_options with an absolute deadline.
qga::sync_options sync_by(time_point deadline);

/// client_options for in_order matching (one command in flight, no ids).
qga::client_options in_order_options();

/// A scenario that syncs with token 1 (request 0) at offset 0; the input should start with
/// synced_1, and actions at synced_1.size() run once the client is ready.
scenario after_sync(qga::client_options options = {});

/// A client that synced with token 1 (request 0) and whose events and output were drained.
qga::client synced_client(qga::client_options options = {});

}  // namespace qwire::test
