// Test harness for qwire::qtest::client: events as readable strings, and scenarios that run
// whole, byte by byte and at every two-piece split.
#pragma once

#include <string>
#include <vector>

#include "client_scenario.hpp"
#include "qwire/qtest/client.hpp"

namespace qwire::test {

/// One line per event: "reply 0 OK", "reply 1 0xdeadbeef", "reply 2 bytes 0102",
/// "reply 3 1000ns", "reply 4 little", "reply 5 text 'x'", "fail 6 Unknown device",
/// "err 7 invalid argument size", "irq raise 5", "request_failed 8 timed_out",
/// "violation unknown_reply_id", "disconnect peer_closed".
std::string describe(const qtest::client_event& event);

/// Pulls every waiting event, described.
std::vector<std::string> drain_events(qtest::client& client);

/// A qtest::client scenario (see client_scenario).
using qtest_scenario = client_scenario<qtest::client, &drain_events>;

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
