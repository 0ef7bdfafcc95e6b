// qwire::qga::client behaviour with literal bytes once synced: encoding, matching by id and in
// order, events, misuse, limits, cancel, close, EOF and transport failure, the observer.
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "qga_harness.hpp"

namespace qga = qwire::qga;
using namespace qwire::test;
using json = nlohmann::json;
using strings = std::vector<std::string>;

namespace {

// Replies as qemu-ga 7.2 writes them: "return" before "id", "id" before "error".
const std::string ping_reply_1 = "{\"return\": {}, \"id\": 1}\n";
const std::string time_reply_2 = "{\"return\": 1795694767550045000, \"id\": 2}\n";
const std::string disabled_3 =
    "{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Command guest-exec-status has been disabled\"}}\n";

}  // namespace

TEST_CASE("qga client: commands are compact, carry their id and are pipelined") {
    auto c = synced_client();
    REQUIRE(c.execute("guest-ping"));
    REQUIRE(c.execute("guest-get-time", json::object()));
    REQUIRE(c.execute("guest-exec-status", {{"pid", 12}}));
    REQUIRE(c.execute("na\"me\n\xff"));
    CHECK(drain_output(c) == R"({"execute":"guest-ping","id":1}{"execute":"guest-get-time","id":2})"
                             R"({"execute":"guest-exec-status","arguments":{"pid":12},"id":3})"
                             "{\"execute\":\"na\\\"me\\n\xef\xbf\xbd\",\"id\":4}");
}

TEST_CASE("qga client: replies match by id, in any order, with qemu-ga's key orders") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-ping"));
    sc.at(synced_1.size(), exec("guest-get-time"));
    sc.at(synced_1.size(), exec("guest-exec-status", {{"pid", 12}}));
    const auto log = sc.check(synced_1 + disabled_3 + ping_reply_1 + time_reply_2,
                              {"synced 0 1", "error_reply 3 CommandNotFound: Command guest-exec-status has been disabled",
                               "reply 1 {}", "reply 2 1795694767550045000"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-ping","id":1}{"execute":"guest-get-time","id":2})"
                                         R"({"execute":"guest-exec-status","arguments":{"pid":12},"id":3})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=0");
}

TEST_CASE("qga client: by id, a reply without an id goes to the one command in flight") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-ping"));
    sc.check(synced_1 + "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray 'x'\"}}\n",
             {"synced 0 1", "error_reply 1 GenericError: JSON parse error, stray 'x'"});
}

TEST_CASE("qga client: by id, a reply with an unknown id is dropped and reported, the session goes on") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-ping"));
    const std::string unknown = "{\"return\": {}, \"id\": 99}\n{\"return\": {}, \"id\": \"1\"}\n"
                                "{\"return\": {}, \"id\": -1}\n{\"return\": {}, \"id\": null}\n"
                                "{\"return\": {}, \"id\": 0}\n";  // 0 was the sync: not a command
    const auto log = sc.check(synced_1 + unknown + ping_reply_1,
                              {"synced 0 1", "violation unknown_reply_id", "violation unknown_reply_id",
                               "violation unknown_reply_id", "violation unknown_reply_id",
                               "violation unknown_reply_id", "reply 1 {}"});
    CHECK(log.end == "ready pending=0 violations=5 discarded=0");
}

TEST_CASE("qga client: in order, commands carry no id and go one at a time") {
    auto c = synced_client(in_order_options());
    REQUIRE(c.execute("guest-ping"));
    REQUIRE(c.execute("guest-info"));
    CHECK(drain_output(c) == R"({"execute":"guest-ping"})");
    REQUIRE(c.receive("{\"return\": {}}\n"));
    CHECK(drain_output(c) == R"({"execute":"guest-info"})");

    auto sc = after_sync(in_order_options());
    sc.at(synced_1.size(), exec("guest-ping"));
    sc.at(synced_1.size(), exec("guest-get-time"));
    sc.at(synced_1.size(), exec("guest-exec-status", {{"pid", 12}}));
    const auto log = sc.check(
        synced_1 + "{\"return\": {}}\n{\"return\": 1795694767550045000}\n" +
            "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Command guest-exec-status has been disabled\"}}\n",
        {"synced 0 1", "reply 1 {}", "reply 2 1795694767550045000",
         "error_reply 3 CommandNotFound: Command guest-exec-status has been disabled"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-ping"}{"execute":"guest-get-time"})"
                                         R"({"execute":"guest-exec-status","arguments":{"pid":12}})");
}

TEST_CASE("qga client: in order, a reply carrying an id is dropped and reported") {
    auto sc = after_sync(in_order_options());
    sc.at(synced_1.size(), exec("guest-ping"));
    const auto log = sc.check(synced_1 + ping_reply_1 + "{\"return\": {}}\n",
                              {"synced 0 1", "violation unknown_reply_id", "reply 1 {}"});
    CHECK(log.end == "ready pending=0 violations=1 discarded=0");
}

TEST_CASE("qga client: well-formed events are delivered once ready, discarded before") {
    const std::string ev = "{\"event\": \"X\", \"data\": {\"a\": 1}, \"timestamp\": {\"seconds\": 5, \"microseconds\": 6}}\n";
    auto sc = after_sync();
    const auto log = sc.check(ev + synced_1 + ev, {"synced 0 1", R"(event X {"a":1} 5.6)"});
    CHECK(log.end == "ready pending=0 violations=0 discarded=1");
}

TEST_CASE("qga client: local misuse is refused with the state unchanged") {
    auto c = synced_client();
    REQUIRE(c.execute("guest-ping"));  // 1, sent
    const std::string before = drain_output(c);
    const auto refused = [&](const auto& result) { return !result && result.error().code() == qwire::errc::invalid_argument; };
    CHECK(refused(c.execute("")));
    CHECK(refused(c.execute("guest-sync-delimited", {{"id", 5}})));
    CHECK(refused(c.execute("guest-ping", json::array({1}))));
    CHECK(refused(c.execute("guest-ping", 5)));
    qga::exec_options no_now;
    no_now.timeout = std::chrono::seconds(1);
    CHECK(refused(c.execute("guest-ping", nullptr, no_now)));
    qga::exec_options no_deadline;
    no_deadline.expect_reply = false;
    CHECK(refused(c.execute("guest-shutdown", nullptr, no_deadline)));
    CHECK(c.cancel(qwire::request_id{42}).error().code() == qwire::errc::unknown_request);
    CHECK(c.cancel(qwire::request_id{0}).error().code() == qwire::errc::unknown_request);  // the sync, done
    CHECK(c.is_ready());
    CHECK(c.pending_requests() == 1);
    CHECK(drain_output(c).empty());
    CHECK(drain_events(c).empty());
    CHECK(before == R"({"execute":"guest-ping","id":1})");
    REQUIRE(c.execute("guest-info"));  // the next id is 2: refused calls took none
    CHECK(drain_output(c) == R"({"execute":"guest-info","id":2})");
}

TEST_CASE("qga client: queue and output backlog limits") {
    qga::client_options small;
    small.max_queued_commands = 2;
    auto c = synced_client(small);
    REQUIRE(c.execute("a"));
    REQUIRE(c.execute("b"));
    auto full = c.execute("c");
    REQUIRE_FALSE(full);
    CHECK(full.error().code() == qwire::errc::queue_full);
    CHECK(full.error().is_retryable());
    REQUIRE(c.receive(ping_reply_1));
    REQUIRE(c.execute("c"));

    qga::client_options tiny;
    tiny.max_output_bytes = 60;  // room for the sync's 56 bytes, then for one guest-ping
    auto d = synced_client(tiny);
    REQUIRE(d.execute("guest-ping"));  // 31 bytes unwritten
    auto backlog = d.execute("guest-ping");
    REQUIRE_FALSE(backlog);
    CHECK(backlog.error().code() == qwire::errc::backlog_full);
    CHECK(d.pending_requests() == 1);
    drain_output(d);
    REQUIRE(d.execute("guest-ping"));
}

TEST_CASE("qga client: cancelling a held command changes nothing else") {
    auto c = synced_client(in_order_options());
    REQUIRE(c.execute("guest-ping"));             // 1, sent
    auto held = c.execute("guest-info").value();  // 2, held
    REQUIRE(c.cancel(held));
    CHECK(drain_events(c) == strings{"request_failed 2 cancelled"});
    CHECK(c.is_ready());
    REQUIRE(c.receive("{\"return\": {}}\n"));
    CHECK(drain_events(c) == strings{"reply 1 {}"});
    CHECK(drain_output(c) == R"({"execute":"guest-ping"})");
}

TEST_CASE("qga client: cancelling a sent command loses trust until the next sync") {
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-ping"));  // 1
    sc.at(synced_1.size(), exec("guest-info"));  // 2
    sc.at(synced_1.size(), [](qga::client& c) {
        REQUIRE(c.cancel(qwire::request_id{1}));
        CHECK(c.state() == qga::client_state::unsynced);
    });
    sc.at(synced_1.size(), exec("guest-get-time"));  // 3: held until the next sync
    const std::string late = ping_reply_1 + "{\"return\": {\"version\": \"7.2.22\"}, \"id\": 2}\n";
    sc.at(synced_1.size() + late.size(), sync_with(2));  // 4
    const std::string stream = synced_1 + late + std::string(agent::stray_ff_error) + agent::sync_reply(2) +
                               "{\"return\": 1795694767550045000, \"id\": 3}\n";
    const auto log = sc.check(stream, {"synced 0 1", "request_failed 1 cancelled", "request_failed 2 cancelled",
                                       "synced 4 2", "reply 3 1795694767550045000"});
    CHECK(log.written == sync_bytes(1) + R"({"execute":"guest-ping","id":1}{"execute":"guest-info","id":2})" +
                             sync_bytes(2) + R"({"execute":"guest-get-time","id":3})");
    CHECK(log.end == "ready pending=0 violations=0 discarded=3");
}

TEST_CASE("qga client: cancelling the sync leaves the client unsynced") {
    qga::client c;
    auto id = c.sync(1).value();
    REQUIRE(c.execute("guest-ping"));
    REQUIRE(c.cancel(id));
    CHECK(c.state() == qga::client_state::unsynced);
    CHECK(drain_events(c) == strings{"request_failed 0 cancelled"});
    REQUIRE(c.receive(agent::sync_reply(1)));  // too late: not trusted
    CHECK(c.state() == qga::client_state::unsynced);
    CHECK(c.pending_requests() == 1);
    CHECK(drain_output(c) == sync_bytes(1));
}

TEST_CASE("qga client: close fails pending requests with cancelled, in order, then disconnects") {
    const std::string ev = "{\"event\": \"X\", \"timestamp\": {\"seconds\": 0, \"microseconds\": 0}}\n";
    auto sc = after_sync();
    sc.at(synced_1.size(), exec("guest-ping"));   // 1: cancelled by the next sync
    sc.at(synced_1.size(), sync_with(2));         // 2
    sc.at(synced_1.size(), exec("guest-info"));   // 3: held
    sc.at(synced_1.size() + ev.size(), [](qga::client& c) {
        REQUIRE(c.close());
        CHECK(c.state() == qga::client_state::closing);
        CHECK(c.pending_output().bytes.empty());
        CHECK_FALSE(c.next_deadline());
        CHECK(c.pending_requests() == 0);
    });
    // The event is read before the new sync's sentinel: discarded.
    const auto log = sc.check(synced_1 + ev, {"synced 0 1", "request_failed 1 cancelled", "request_failed 2 cancelled",
                                              "request_failed 3 cancelled", "disconnect closed"});
    CHECK(log.end == "closing pending=0 violations=0 discarded=1");

    auto c = synced_client();
    REQUIRE(c.close());
    CHECK(drain_events(c) == strings{"disconnect closed"});
    CHECK(c.state() == qga::client_state::closed);
    const auto invalid = [](const auto& result) { return !result && result.error().code() == qwire::errc::invalid_state; };
    CHECK(invalid(c.execute("guest-ping")));
    CHECK(invalid(c.sync(3)));
    CHECK(invalid(c.cancel(qwire::request_id{0})));
    CHECK(invalid(c.receive("{}")));
    CHECK(invalid(c.receive_eof()));
    CHECK(invalid(c.transport_failed(std::make_error_code(std::errc::broken_pipe))));
    CHECK(invalid(c.handle_timeout(t0)));
    CHECK(invalid(c.close()));
    CHECK_FALSE(c.next_event());
    CHECK_FALSE(c.next_deadline());
    CHECK(c.pending_output().bytes.empty());
}

TEST_CASE("qga client: EOF ends the session with every pending request failed in order") {
    SECTION("between messages, ready") {
        auto sc = after_sync(in_order_options());
        sc.at(synced_1.size(), exec("guest-ping"));
        sc.at(synced_1.size(), exec("guest-info"));
        sc.at(synced_1.size(), eof());
        sc.check(synced_1, {"synced 0 1", "request_failed 1 connection_lost", "request_failed 2 connection_lost",
                            "disconnect peer_closed"});
    }
    SECTION("inside a reply") {
        auto sc = after_sync();
        sc.at(synced_1.size(), exec("guest-ping"));
        const std::string half = "{\"return\": {\"a";
        sc.at(synced_1.size() + half.size(), eof());
        sc.check(synced_1 + half, {"synced 0 1", "request_failed 1 connection_lost", "disconnect connection_lost"});
    }
    SECTION("while syncing, and unsynced") {
        scenario syncing;
        syncing.at(0, exec("guest-ping"));
        syncing.at(0, sync_with(4));
        syncing.at(agent::stray_ff_error.size(), eof());
        syncing.check(agent::stray_ff_error,
                      {"request_failed 0 connection_lost", "request_failed 1 connection_lost", "disconnect peer_closed"});
        scenario unsynced;
        unsynced.at(3, eof());
        CHECK(unsynced.check("{\"a", {"disconnect connection_lost"}).end == "closing pending=0 violations=0 discarded=0");
    }
}

TEST_CASE("qga client: a transport failure names its cause") {
    auto c = synced_client();
    REQUIRE(c.execute("guest-ping"));
    REQUIRE(c.transport_failed(std::make_error_code(std::errc::connection_reset)));
    auto failed = c.next_event();
    REQUIRE(failed);
    CHECK(std::get<qwire::request_failed>(*failed).error.code() == qwire::errc::connection_lost);
    CHECK(std::get<qwire::request_failed>(*failed).error.cause() == std::errc::connection_reset);
    auto last = c.next_event();
    REQUIRE(last);
    CHECK(std::get<qwire::disconnect>(*last).reason.code() == qwire::errc::connection_lost);
    CHECK(std::get<qwire::disconnect>(*last).reason.cause() == std::errc::connection_reset);
    CHECK_FALSE(c.next_event());
    CHECK(c.state() == qga::client_state::closed);
}

TEST_CASE("qga client: the observer sees stale and trusted messages and what is sent") {
    strings seen;
    qga::client_options options;
    options.observer = [&](qwire::direction d, std::string_view m) {
        seen.push_back((d == qwire::direction::inbound ? "in " : "out ") + std::string(m));
    };
    qga::client c(options);
    REQUIRE(c.execute("guest-ping"));
    REQUIRE(c.sync(8));
    REQUIRE(c.receive(std::string(agent::stray_ff_error) + agent::sync_reply(8) + "{\"return\": {}, \"id\": 0}\n"));
    CHECK(seen == strings{"out " + sync_bytes(8),
                          "in " + std::string(agent::stray_ff_error.substr(0, agent::stray_ff_error.size() - 1)),
                          "in {\"return\": 8}", R"(out {"execute":"guest-ping","id":0})", "in {\"return\": {}, \"id\": 0}"});
}

TEST_CASE("qga client: a moved client carries on") {
    auto c = synced_client();
    REQUIRE(c.execute("guest-ping"));
    qga::client moved = std::move(c);
    REQUIRE(moved.receive(ping_reply_1));
    CHECK(drain_events(moved) == strings{"reply 1 {}"});
    qga::client assigned;
    assigned = std::move(moved);
    CHECK(assigned.is_ready());
    CHECK(drain_output(assigned) == R"({"execute":"guest-ping","id":1})");
}
