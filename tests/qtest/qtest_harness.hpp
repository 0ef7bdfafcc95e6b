// Test harness for qwire::qtest::client: events as readable strings, and scenarios that run
// whole, byte by byte and at every two-piece split.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qwire/qtest/client.hpp"
#include "testing.hpp"

namespace qwire::test {

/// One line per event: "reply 0 OK", "reply 1 0xdeadbeef", "reply 2 bytes 0102",
/// "reply 3 1000ns", "reply 4 little", "reply 5 text 'x'", "fail 6 Unknown device",
/// "err 7 invalid argument size", "irq raise 5", "request_failed 8 timed_out",
/// "violation unknown_reply_id", "disconnect peer_closed".
std::string describe(const qtest::client_event& event);

/// Pulls every waiting event, described.
std::vector<std::string> drain_events(qtest::client& client);

/// Writes everything the client wants to write; returns it.
std::string drain_output(qtest::client& client);

/// What a scenario produced: every event described, and every byte the client wrote.
struct qtest_log {
    std::vector<std::string> events;
    std::string written;
    friend bool operator==(const qtest_log&, const qtest_log&) = default;
};

std::ostream& operator<<(std::ostream& out, const qtest_log& log);

/// A scenario: make a client, run `before` on it (send commands), feed the pieces (writing all
/// output after each), then run `after` (e.g. receive_eof), collecting the log.
struct qtest_scenario {
    qtest::client_options options;
    std::function<void(qtest::client&)> before = [](qtest::client&) {};
    std::function<void(qtest::client&)> after = [](qtest::client&) {};

    qtest_log run(const pieces& input) const;
    /// Runs it on the whole input, byte by byte and at every two-piece split; checks the whole
    /// run gives `expected` events and every run the same log. Returns the whole run's log.
    qtest_log check(std::string_view input, const std::vector<std::string>& expected) const;
};

/// Requires a command call to succeed; returns its id's value.
std::uint64_t sent(const tl::expected<request_id, error>& result);

/// Requires a call to fail with `code`; returns the error's detail.
template <class T>
std::string refused(const tl::expected<T, error>& result, errc code) {
    REQUIRE_FALSE(result.has_value());
    CHECK(to_string(result.error().code()) == to_string(code));
    return result.error().detail();
}

}  // namespace qwire::test
