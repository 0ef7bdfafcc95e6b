// qwire::qga::client resynchronisation with literal bytes: the 0xFF sentinel, garbage and stale
// replies before and after it, partial frames cut by it, restarted syncs, commands held until the
// stream is trusted. Every scenario runs whole, byte by byte and at every two-piece split.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qga_harness.hpp"

namespace qga = qwire::qga;
using namespace qwire::test;
using strings = std::vector<std::string>;

namespace {

constexpr std::uint64_t token = 123456;

}  // namespace

TEST_CASE("qga sync: writes 0xFF, then guest-sync-delimited with the token, compactly") {
    qga::client c;
    CHECK(c.state() == qga::client_state::unsynced);
    auto id = c.sync(token);
    REQUIRE(id);
    CHECK(id->value == 0);
    CHECK(c.state() == qga::client_state::syncing);
    CHECK(drain_output(c) ==
          "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":123456}}");
    CHECK(c.pending_requests() == 1);
}

TEST_CASE("qga sync: a fresh agent answers the 0xFF with a parse error, then the sentinel and the token") {
    scenario sc;
    sc.at(0, sync_with(token));
    const auto log = sc.check(std::string(agent::stray_ff_error) + agent::sync_reply(token), {"synced 0 123456"});
    CHECK(log.written == sync_bytes(token));
    CHECK(log.end == "ready pending=0 violations=0 discarded=1");
}

TEST_CASE("qga sync: an agent left with half a command by an earlier client (recorded from qemu-ga)") {
    scenario sc;
    sc.at(0, sync_with(5));
    const auto log = sc.check(std::string(agent::half_command_error) + "\xff{\"return\": 5}\n", {"synced 0 5"});
    CHECK(log.end == "ready pending=0 violations=0 discarded=1");
}

TEST_CASE("qga sync: everything before the sentinel is discarded, whatever it is") {
    struct garbage {
        const char* what;
        std::string bytes;
        std::uint64_t discarded;  // including the agent's answer to the 0xFF when it is not skipped
    };
    const std::vector<garbage> cases = {
        {"stale replies with and without ids",
         "{\"return\": {}, \"id\": 7}\n{\"id\": 8, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\n"
         "{\"return\": {}}\n",
         4},
        {"our own token before any sentinel", "{\"return\": 123456}\n", 2},
        {"JSON that is not a reply", "[1, 2]\n42\n\"text\"\n{}\n", 5},
        {"invalid UTF-8 inside a frame", "{\"return\": \"\xc3\x28\"}\n", 2},
        {"text that is not JSON", "garbage\n", 1},  // the framer then skips to the sentinel
        {"binary noise", std::string("\x00\x01\x02\xfe", 4), 1},
        {"the tail of a reply cut by an earlier client", "l\": 2}, \"id\": 4}\n", 1},
        {"a stream that starts inside a string", "\", \"id\": 4}\n", 2},
        {"a mismatched bracket", "{\"return\": [}\n", 1},
        {"half a frame (the agent's parse error is swallowed by it)", "{\"return\": {\"a\": [1, 2", 0},
        {"a 0xFF inside a string, then its tail", "{\"desc\": \"ab\xff" "cd\"}\n", 1},
        {"an earlier sync's reply and a QMP greeting", "\xff{\"return\": 99}\n{\"QMP\": {}}\n", 3},
    };
    for (const garbage& g : cases) {
        DYNAMIC_SECTION(g.what) {
            scenario sc;
            sc.at(0, sync_with(token));
            const auto log =
                sc.check(g.bytes + std::string(agent::stray_ff_error) + agent::sync_reply(token), {"synced 0 123456"});
            CHECK(log.end == "ready pending=0 violations=0 discarded=" + std::to_string(g.discarded));
        }
    }
}

TEST_CASE("qga sync: over-limit frames before the sentinel are skipped, not fatal") {
    qga::client_options small;
    small.max_frame_bytes = 64;
    small.max_depth = 4;
    scenario sc;
    sc.options = small;
    sc.at(0, sync_with(token));
    const std::string too_long = "{\"return\": \"" + std::string(100, 'x') + "\"}\n";
    const std::string too_deep = "[[[[[[]]]]]]\n";
    const auto log = sc.check(too_long + "\xff" + too_deep + "\xff" + std::string(agent::stray_ff_error) +
                                  agent::sync_reply(token),
                              {"synced 0 123456"});
    CHECK(log.end == "ready pending=0 violations=0 discarded=3");
}

TEST_CASE("qga sync: after the sentinel, stale replies and other tokens are ignored until ours") {
    scenario sc;
    sc.at(0, sync_with(token));
    const std::string stream = std::string(agent::stray_ff_error) + agent::sync_reply(111) + agent::sync_reply(222) +
                               "{\"return\": {}, \"id\": 3}\n" + agent::sync_reply(token) +
                               "{\"return\": {}, \"id\": 3}\n";
    // The reply after the sync is for nobody: once ready, that is a (non-fatal) violation.
    const auto log = sc.check(stream, {"synced 0 123456", "violation unknown_reply_id"});
    CHECK(log.end == "ready pending=0 violations=1 discarded=4");
}

TEST_CASE("qga sync: only {\"return\": TOKEN} with no id and no error completes the sync") {
    const std::string look_alikes =
        "\xff{\"return\": 123456.0}\n{\"return\": \"123456\"}\n{\"return\": 123456, \"id\": 0}\n"
        "{\"return\": -123456}\n{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, \"return\": 123456}\n"
        "[123456]\n{\"return\": [123456]}\n123456\n";
    scenario waiting;
    waiting.at(0, sync_with(token));
    CHECK(waiting.check(look_alikes + "\n", {}).end == "syncing pending=1 violations=0 discarded=8");

    scenario sc;
    sc.at(0, sync_with(token));
    CHECK(sc.check(look_alikes + agent::sync_reply(token), {"synced 0 123456"}).end ==
          "ready pending=0 violations=0 discarded=8");
}

TEST_CASE("qga sync: a partial frame cut by the 0xFF is dropped") {
    scenario sc;
    sc.at(0, sync_with(7));
    // Half a reply (a string with an escape, nested containers), then the sentinel cuts it.
    const auto log = sc.check("{\"return\": {\"desc\": \"a\\\"b}], [{\", \"x\": [1, {" + agent::sync_reply(7) +
                                  "{\"return\": 1, \"id\": 5}\n",
                              {"synced 0 7", "violation unknown_reply_id"});
    CHECK(log.end == "ready pending=0 violations=1 discarded=0");
}

TEST_CASE("qga sync: while unsynced nothing is trusted, sentinels and tokens included") {
    scenario sc;
    const auto log = sc.check(agent::sync_reply(9) + "{\"return\": {}, \"id\": 0}\ngarbage\n", {});
    CHECK(log.end == "unsynced pending=0 violations=0 discarded=3");
    CHECK(log.written.empty());
}

TEST_CASE("qga sync: commands before ready are held, then sent in order once synced") {
    scenario sc;
    sc.at(0, exec("guest-ping"));
    sc.at(0, exec("guest-info"));
    sc.at(0, [](qga::client& c) { CHECK(c.pending_output().bytes.empty()); });
    sc.at(0, sync_with(77));
    sc.at(0, exec("guest-get-time"));  // while syncing: held too
    const std::string stream = std::string(agent::stray_ff_error) + agent::sync_reply(77) +
                               "{\"return\": {}, \"id\": 0}\n{\"return\": {\"version\": \"7.2.22\"}, \"id\": 1}\n" +
                               "{\"return\": 1795694767550045000, \"id\": 3}\n";
    const auto log = sc.check(stream, {"synced 2 77", "reply 0 {}", R"(reply 1 {"version":"7.2.22"})",
                                       "reply 3 1795694767550045000"});
    CHECK(log.written == sync_bytes(77) + R"({"execute":"guest-ping","id":0}{"execute":"guest-info","id":1})"
                                          R"({"execute":"guest-get-time","id":3})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=1");
}

TEST_CASE("qga sync: a new sync while ready cancels the commands sent, keeps the ones held") {
    scenario sc;
    qga::client_options in_order;
    in_order.matching = qga::match_mode::in_order;
    sc.options = in_order;
    const std::string first = agent::sync_reply(1);
    sc.at(0, sync_with(1));
    sc.at(first.size(), exec("guest-ping"));      // 1: sent
    sc.at(first.size(), exec("guest-info"));      // 2: held behind it (one in flight)
    sc.at(first.size(), sync_with(2));            // 3: 1 fails, 2 stays held
    const std::string stream = first + "{\"return\": {}}\n" + std::string(agent::stray_ff_error) +
                               agent::sync_reply(2) + "{\"return\": {\"version\": \"7.2.22\"}}\n";
    const auto log = sc.check(stream, {"synced 0 1", "request_failed 1 cancelled", "synced 3 2",
                                       R"(reply 2 {"version":"7.2.22"})"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-ping"})" + sync_bytes(2) + R"({"execute":"guest-info"})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=2");
}

TEST_CASE("qga sync: a new sync while syncing cancels the old one; the old token is then stale") {
    scenario sc;
    sc.at(0, sync_with(111));
    sc.at(0, sync_with(222));
    const std::string stream = std::string(agent::stray_ff_error) + agent::sync_reply(111) +
                               std::string(agent::stray_ff_error) + agent::sync_reply(222);
    const auto log = sc.check(stream, {"request_failed 0 cancelled", "synced 1 222"});
    CHECK(log.written == sync_bytes(111) + sync_bytes(222));
    CHECK(log.end == "ready pending=0 violations=0 discarded=3");
}

TEST_CASE("qga sync: refused calls leave the state unchanged") {
    qga::client c;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    auto too_big = c.sync(max + 1);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().code() == qwire::errc::invalid_argument);
    qga::sync_options no_now;
    no_now.timeout = std::chrono::seconds(1);
    CHECK(c.sync(1, no_now).error().code() == qwire::errc::invalid_argument);
    CHECK(c.state() == qga::client_state::unsynced);
    CHECK(c.pending_requests() == 0);
    CHECK(c.pending_output().bytes.empty());

    REQUIRE(c.sync(max));
    CHECK(drain_output(c) == sync_bytes(max));

    qga::client_options tiny;
    tiny.max_output_bytes = 100;
    qga::client d(tiny);
    REQUIRE(d.sync(1));  // 56 bytes unwritten
    auto backlog = d.sync(2);
    REQUIRE_FALSE(backlog);
    CHECK(backlog.error().code() == qwire::errc::backlog_full);
    CHECK(d.pending_requests() == 1);  // the first sync still waits
    CHECK(drain_events(d).empty());
    drain_output(d);
    REQUIRE(d.sync(2));
    CHECK(drain_events(d) == strings{"request_failed 0 cancelled"});
}

TEST_CASE("qga sync: never refused for queue_full, it is the way out") {
    qga::client_options small;
    small.max_queued_commands = 1;
    qga::client c(small);
    REQUIRE(c.execute("guest-ping"));
    CHECK(c.execute("guest-ping").error().code() == qwire::errc::queue_full);
    REQUIRE(c.sync(3));
    REQUIRE(c.receive(agent::sync_reply(3)));
    CHECK(drain_output(c) == sync_bytes(3) + R"({"execute":"guest-ping","id":0})");
}
