// Deadlines with a simulated clock (nothing here reads a real clock): timeouts and the forced
// re-sync, sync timeouts, default timeouts, and fire-and-forget commands (guest-shutdown,
// guest-suspend-*) that complete when their deadline passes with no reply.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qga_harness.hpp"

using namespace std::chrono_literals;
namespace qga = qwire::qga;
using namespace qwire::test;
using strings = std::vector<std::string>;

namespace {

const std::string shutdown_disabled =
    "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Command guest-shutdown has been disabled\"}}\n";

}  // namespace

TEST_CASE("qga timeout: a sent command past its deadline fails, trust is lost, a new sync restores it") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-fsfreeze-status", nullptr, by(t0 + 5s)));  // 1
    sc.at(synced_1.size(), exec("guest-ping"));                                   // 2: no deadline
    sc.at(synced_1.size(), [](qga::client& c) { CHECK(c.next_deadline() == t0 + 5s); });
    sc.at(synced_1.size(), timeout_at(t0 + 4s));  // early: nothing happens
    sc.at(synced_1.size(), [](qga::client& c) { CHECK(c.is_ready()); });
    sc.at(synced_1.size(), timeout_at(t0 + 5s));
    sc.at(synced_1.size(), [](qga::client& c) {
        CHECK(c.state() == qga::client_state::unsynced);
        CHECK_FALSE(c.next_deadline());
    });
    sc.at(synced_1.size(), exec("guest-info"));  // 3: held, the stream is not trusted
    const std::string late = "{\"return\": \"thawed\", \"id\": 1}\n{\"return\": {}, \"id\": 2}\n";
    sc.at(synced_1.size() + late.size(), sync_with(2));  // 4
    const std::string stream = synced_1 + late + std::string(agent::stray_ff_error) + agent::sync_reply(2) +
                               "{\"return\": {\"version\": \"7.2.22\"}, \"id\": 3}\n";
    const auto log = sc.check(stream, {"synced 0 1", "request_failed 1 timed_out", "request_failed 2 cancelled",
                                       "synced 4 2", R"(reply 3 {"version":"7.2.22"})"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-fsfreeze-status","id":1}{"execute":"guest-ping","id":2})" +
                             sync_bytes(2) + R"({"execute":"guest-info","id":3})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=3");
}

TEST_CASE("qga timeout: in order, the command in flight times out and the held ones wait for a sync") {
    auto sc = after_sync(in_order_options());
    sc.at(synced_1.size(), exec("guest-fsfreeze-status", nullptr, by(t0 + 5s)));  // 1: sent
    sc.at(synced_1.size(), exec("guest-ping", nullptr, by(t0 + 9s)));             // 2: held behind it
    sc.at(synced_1.size(), timeout_at(t0 + 5s));
    sc.at(synced_1.size(), sync_with(2));  // 3
    const std::string stream = synced_1 + "{\"return\": \"thawed\"}\n" + agent::sync_reply(2) + "{\"return\": {}}\n";
    const auto log = sc.check(stream, {"synced 0 1", "request_failed 1 timed_out", "synced 3 2", "reply 2 {}"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-fsfreeze-status"})" + sync_bytes(2) +
                             R"({"execute":"guest-ping"})");
}

TEST_CASE("qga timeout: several deadlines at once: timed out in order, then the other sent ones cancelled") {
    auto c = synced_client();
    REQUIRE(c.execute("a", nullptr, by(t0 + 2s)));         // 1
    REQUIRE(c.execute("b"));                                // 2
    REQUIRE(c.execute("c", nullptr, by(t0 + 1s)));         // 3
    REQUIRE(c.execute("d", nullptr, by(t0 + 1s, false)));  // 4: fire and forget
    REQUIRE(c.execute("e", nullptr, by(t0 + 9s)));         // 5
    drain_output(c);
    REQUIRE(c.handle_timeout(t0 + 3s));
    CHECK(drain_events(c) == strings{"request_failed 1 timed_out", "request_failed 3 timed_out", "no_reply 4",
                                     "request_failed 2 cancelled", "request_failed 5 cancelled"});
    CHECK(c.state() == qga::client_state::unsynced);
    CHECK(c.pending_requests() == 0);
}

TEST_CASE("qga timeout: held commands time out without touching trust") {
    qga::client c;
    REQUIRE(c.execute("guest-ping", nullptr, by(t0 + 1s)));
    REQUIRE(c.execute("guest-info"));
    REQUIRE(c.handle_timeout(t0 + 1s));
    CHECK(drain_events(c) == strings{"request_failed 0 timed_out"});
    CHECK(c.state() == qga::client_state::unsynced);
    REQUIRE(c.sync(5));
    REQUIRE(c.receive(agent::sync_reply(5)));
    CHECK(drain_events(c) == strings{"synced 2 5"});
    CHECK(drain_output(c) == sync_bytes(5) + R"({"execute":"guest-info","id":1})");  // never guest-ping
}

TEST_CASE("qga timeout: a sync past its deadline fails; stale sentinels are then harmless") {
    scenario sc;
    sc.at(0, sync_with(1, sync_by(t0 + 2s)));  // 0
    sc.at(0, exec("guest-ping"));              // 1: held
    sc.at(0, timeout_at(t0 + 2s));
    sc.at(0, [](qga::client& c) {
        CHECK(c.state() == qga::client_state::unsynced);
        CHECK(c.pending_requests() == 1);
    });
    sc.at(0, sync_with(2, sync_by(t0 + 4s)));  // 2
    // The agent answers both syncs, the first one late: its token is stale.
    const std::string stream = std::string(agent::stray_ff_error) + agent::sync_reply(1) +
                               std::string(agent::stray_ff_error) + agent::sync_reply(2) + "{\"return\": {}, \"id\": 1}\n";
    const auto log = sc.check(stream, {"request_failed 0 timed_out", "synced 2 2", "reply 1 {}"});
    CHECK(log.written == sync_bytes(1) + sync_bytes(2) + R"({"execute":"guest-ping","id":1})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=3");
}

TEST_CASE("qga timeout: the default timeouts need the current time; an absolute deadline wins") {
    qga::client_options options;
    options.command_timeout = 3s;
    options.sync_timeout = 10s;
    qga::client c(options);
    CHECK(c.sync(1).error().code() == qwire::errc::invalid_argument);
    CHECK(c.execute("guest-ping").error().code() == qwire::errc::invalid_argument);
    qga::sync_options sync_now;
    sync_now.now = t0;
    REQUIRE(c.sync(1, sync_now));
    CHECK(c.next_deadline() == t0 + 10s);
    qga::exec_options now;
    now.now = t0;
    REQUIRE(c.execute("guest-ping", nullptr, now));
    CHECK(c.next_deadline() == t0 + 3s);
    now.timeout = 1s;
    REQUIRE(c.execute("guest-ping", nullptr, now));
    CHECK(c.next_deadline() == t0 + 1s);
    now.deadline = t0 + 500ms;
    REQUIRE(c.execute("guest-ping", nullptr, now));
    CHECK(c.next_deadline() == t0 + 500ms);
    REQUIRE(c.cancel(qwire::request_id{3}));
    CHECK(c.next_deadline() == t0 + 1s);
}

TEST_CASE("qga timeout: guest-shutdown completes when its deadline passes with no reply") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-shutdown", {{"mode", "powerdown"}}, by(t0 + 3s, false)));  // 1
    sc.at(synced_1.size(), [](qga::client& c) { CHECK(c.next_deadline() == t0 + 3s); });
    sc.at(synced_1.size(), timeout_at(t0 + 2s));
    sc.at(synced_1.size(), timeout_at(t0 + 3s));
    const auto log = sc.check(synced_1, {"synced 0 1", "no_reply 1"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-shutdown","arguments":{"mode":"powerdown"},"id":1})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=0");  // the stream is still trusted
}

TEST_CASE("qga timeout: an error reply before the deadline is the fire-and-forget outcome") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-shutdown", nullptr, by(t0 + 3s, false)));  // 1
    sc.at(synced_1.size() + shutdown_disabled.size(), timeout_at(t0 + 3s));
    const auto log = sc.check(synced_1 + shutdown_disabled,
                              {"synced 0 1", "error_reply 1 CommandNotFound: Command guest-shutdown has been disabled"});
    CHECK(log.end == "ready pending=0 violations=0 discarded=0");
}

TEST_CASE("qga timeout: guest-suspend-ram in order holds the one slot until its deadline") {
    auto sc = after_sync(in_order_options());
    sc.at(synced_1.size(), exec("guest-suspend-ram", nullptr, by(t0 + 3s, false)));  // 1
    sc.at(synced_1.size(), exec("guest-ping"));                                      // 2
    sc.at(synced_1.size(), [](qga::client& c) { CHECK(c.pending_output().bytes.empty()); });  // 2 waits
    sc.at(synced_1.size(), timeout_at(t0 + 3s));  // completes 1 and sends 2
    const auto log = sc.check(synced_1 + "{\"return\": {}}\n", {"synced 0 1", "no_reply 1", "reply 2 {}"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-suspend-ram"}{"execute":"guest-ping"})");
}

TEST_CASE("qga timeout: EOF while a fire-and-forget command waits fails it like any request") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-shutdown", nullptr, by(t0 + 3s, false)));
    sc.at(synced_1.size(), eof());
    sc.check(synced_1, {"synced 0 1", "request_failed 1 connection_lost", "disconnect peer_closed"});
}
