// qwire::qmp::client behaviour with literal bytes: negotiation, encoding, matching, flow
// control, fds, cancel and close. Every scenario runs whole, byte by byte and at every split.
#include <nlohmann/json.hpp>

#include "qmp_harness.hpp"

using qwire::test::caps_ok;
using qwire::test::greeting_oob;
using qwire::test::greeting_plain;
using qwire::test::scenario;
using json = nlohmann::json;
namespace qmp = qwire::qmp;

namespace {

std::string s(std::string_view a) { return std::string(a); }

// Executes a command in a `before` hook, requiring success.
void run(qmp::client& c, std::string_view name, json args = nullptr, qmp::exec_options o = {}) {
    REQUIRE(c.execute(name, std::move(args), std::move(o)));
}

}  // namespace

TEST_CASE("qmp client: negotiates by itself, with OOB when offered") {
    scenario sc;
    const auto log = sc.check(s(greeting_oob) + s(caps_ok), {"greeting oob", "ready oob"});
    CHECK(log.written == R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})");
}

TEST_CASE("qmp client: negotiates without OOB when not offered or not wanted") {
    scenario plain;
    CHECK(plain.check(s(greeting_plain) + s(caps_ok), {"greeting", "ready"}).written ==
          R"({"execute":"qmp_capabilities"})");
    scenario unwanted;
    unwanted.options.enable_oob = false;
    CHECK(unwanted.check(s(greeting_oob) + s(caps_ok), {"greeting oob", "ready"}).written ==
          R"({"execute":"qmp_capabilities"})");
}

TEST_CASE("qmp client: commands before ready are held, then sent in order after negotiation") {
    scenario sc;
    sc.before = [](qmp::client& c) {
        run(c, "query-status");
        run(c, "query-version");
        CHECK(c.pending_output().bytes.empty());  // nothing before the greeting
    };
    const auto log = sc.check(s(greeting_oob) + s(caps_ok) + "{\"return\": {\"running\": true}, \"id\": 0}\r\n" +
                                  "{\"id\": 1, \"return\": {\"qemu\": {}}}\r\n",
                              {"greeting oob", "ready oob", R"(reply 0 {"running":true})", R"(reply 1 {"qemu":{}})"});
    CHECK(log.written == R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})"
                         R"({"execute":"query-status","id":0}{"execute":"query-version","id":1})");
}

TEST_CASE("qmp client: events are accepted before the greeting and before the caps reply") {
    const std::string ev = R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}})" "\r\n";
    const std::string ev2 = R"({"timestamp": {"seconds": -1, "microseconds": -1}, "event": "RESUME", "data": {"x": [1]}})" "\r\n";
    scenario sc;
    sc.check(ev + s(greeting_oob) + ev2 + s(caps_ok) + ev,
             {"event STOP null 1.2", "greeting oob", R"(event RESUME {"x":[1]} -1.-1)", "ready oob", "event STOP null 1.2"});
}

TEST_CASE("qmp client: compact encoding, arguments left out when empty") {
    auto c = qwire::test::ready_client();
    run(c, "query-status");
    run(c, "query-status", json::object());
    run(c, "device_del", {{"id", "näme\""}});
    qmp::exec_options custom;
    custom.id = "x";
    run(c, "stop", nullptr, custom);
    qmp::exec_options anonymous;
    anonymous.send_id = false;
    run(c, "cont", nullptr, anonymous);
    qmp::exec_options oob;
    oob.oob = true;
    run(c, "query-yank", nullptr, oob);
    CHECK(qwire::test::drain_output(c) ==
          R"({"execute":"query-status","id":0}{"execute":"query-status","id":1})"
          R"({"execute":"device_del","arguments":{"id":"näme\""},"id":2}{"execute":"stop","id":"x"})"
          R"({"execute":"cont"}{"exec-oob":"query-yank","id":5})");
}

TEST_CASE("qmp client: command names are escaped, invalid UTF-8 replaced") {
    auto c = qwire::test::ready_client();
    run(c, "a\"b\\c\x01\n");
    run(c, "d\xc3\xa9");
    run(c, "e\xff");
    CHECK(qwire::test::drain_output(c) == R"({"execute":"a\"b\\c\u0001\n","id":0})"
                                         "{\"execute\":\"d\xc3\xa9\",\"id\":1}"
                                         "{\"execute\":\"e\xef\xbf\xbd\",\"id\":2}");
}

TEST_CASE("qmp client: replies match by id in any key order, custom ids come back verbatim") {
    scenario sc;
    sc.before = [](qmp::client& c) {
        qmp::exec_options a;
        a.id = json{{"tag", 1}};
        run(c, "one", nullptr, a);
        qmp::exec_options b;
        b.id = -7;
        run(c, "two", nullptr, b);
        run(c, "three");
    };
    sc.check(s(greeting_oob) + s(caps_ok) + R"({"return": 1, "id": {"tag": 1}})" R"({"id": -7, "return": 2})" +
                 R"({"id":2,"error":{"desc":"no","class":"GenericError"}})",
             {"greeting oob", "ready oob", "reply 0 1", "reply 1 2", "error_reply 2 GenericError: no"});
}

TEST_CASE("qmp client: a reply with an unknown id is dropped and reported, the session goes on") {
    scenario sc;
    sc.before = [](qmp::client& c) { run(c, "query-status"); };
    sc.check(s(greeting_oob) + s(caps_ok) + R"({"return": {}, "id": 99})" R"({"return": {}, "id": 0})",
             {"greeting oob", "ready oob", "violation unknown_reply_id", "reply 0 {}"});
}

TEST_CASE("qmp client: an id-less reply goes to the one request waiting") {
    scenario sc;
    sc.before = [](qmp::client& c) { run(c, "no-such-command"); };
    sc.check(s(greeting_plain) + s(caps_ok) +
                 R"({"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword"}})" "\r\n",
             {"greeting", "ready", "error_reply 0 GenericError: JSON parse error, invalid keyword"});
}

TEST_CASE("qmp client: without OOB one in-band command is in flight; the rest wait for replies") {
    auto c = qwire::test::ready_client({}, greeting_plain);
    for (int i = 0; i < 3; ++i) run(c, "query-status");
    CHECK(qwire::test::drain_output(c) == R"({"execute":"query-status","id":0})");
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    CHECK(qwire::test::drain_output(c) == R"({"execute":"query-status","id":1})");
    REQUIRE(c.receive(R"({"return": {}, "id": 1})"));
    CHECK(qwire::test::drain_output(c) == R"({"execute":"query-status","id":2})");
    REQUIRE(c.receive(R"({"return": {}, "id": 2})"));
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"reply 0 {}", "reply 1 {}", "reply 2 {}"});
}

TEST_CASE("qmp client: with OOB eight in-band commands fly; OOB commands bypass the limit") {
    auto c = qwire::test::ready_client();
    for (int i = 0; i < 10; ++i) run(c, "query-status");
    std::string expected;
    for (int i = 0; i < 8; ++i) expected += R"({"execute":"query-status","id":)" + std::to_string(i) + "}";
    CHECK(qwire::test::drain_output(c) == expected);
    qmp::exec_options oob;
    oob.oob = true;
    run(c, "query-yank", nullptr, oob);
    CHECK(qwire::test::drain_output(c) == R"({"exec-oob":"query-yank","id":10})");
    // The OOB reply overtakes the in-band ones; each in-band reply frees a slot.
    REQUIRE(c.receive(R"({"return": [], "id": 10}{"return": {}, "id": 0})"));
    CHECK(qwire::test::drain_output(c) == R"({"execute":"query-status","id":8})");
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"reply 10 []", "reply 0 {}"});
    CHECK(c.pending_requests() == 9);
}

TEST_CASE("qmp client: OOB needs negotiation, an offer and an id") {
    qmp::exec_options oob;
    oob.oob = true;
    qmp::client fresh;
    auto before_ready = fresh.execute("query-yank", nullptr, oob);
    REQUIRE_FALSE(before_ready);
    CHECK(before_ready.error().code() == qwire::errc::invalid_state);

    auto plain = qwire::test::ready_client({}, greeting_plain);
    auto not_offered = plain.execute("query-yank", nullptr, oob);
    REQUIRE_FALSE(not_offered);
    CHECK(not_offered.error().code() == qwire::errc::not_supported);

    auto c = qwire::test::ready_client();
    oob.send_id = false;
    auto no_id = c.execute("query-yank", nullptr, oob);
    REQUIRE_FALSE(no_id);
    CHECK(no_id.error().code() == qwire::errc::invalid_argument);
    CHECK(c.pending_requests() == 0);
}

TEST_CASE("qmp client: local misuse is refused with the state unchanged") {
    auto c = qwire::test::ready_client();
    CHECK(c.execute("", nullptr).error().code() == qwire::errc::invalid_argument);
    CHECK(c.execute("x", json::array({1})).error().code() == qwire::errc::invalid_argument);
    CHECK(c.execute("x", 5).error().code() == qwire::errc::invalid_argument);
    qmp::exec_options null_id;
    null_id.id = nullptr;
    CHECK(c.execute("x", nullptr, null_id).error().code() == qwire::errc::invalid_argument);
    qmp::exec_options dup;
    dup.id = 0;
    run(c, "first");  // automatic id 0
    CHECK(c.execute("x", nullptr, dup).error().code() == qwire::errc::invalid_argument);
    qmp::exec_options timeout_without_now;
    timeout_without_now.timeout = std::chrono::seconds(1);
    CHECK(c.execute("x", nullptr, timeout_without_now).error().code() == qwire::errc::invalid_argument);
    CHECK(c.cancel(qwire::request_id{42}).error().code() == qwire::errc::unknown_request);
    CHECK(c.pending_requests() == 1);
    CHECK(c.is_ready());
    CHECK(qwire::test::drain_output(c) == R"({"execute":"first","id":0})");
}

TEST_CASE("qmp client: queue and output backlog limits") {
    qmp::client_options small;
    small.max_queued_commands = 2;
    auto c = qwire::test::ready_client(small, greeting_plain);
    run(c, "a");
    run(c, "b");
    auto full = c.execute("c");
    REQUIRE_FALSE(full);
    CHECK(full.error().code() == qwire::errc::queue_full);
    CHECK(full.error().is_retryable());
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    run(c, "c");  // room again after a reply

    qmp::client_options tiny_backlog;
    tiny_backlog.max_output_bytes = 60;
    auto d = qwire::test::ready_client(tiny_backlog);
    run(d, "query-status");  // 33 bytes unwritten
    auto backlog = d.execute("query-status");
    REQUIRE_FALSE(backlog);
    CHECK(backlog.error().code() == qwire::errc::backlog_full);
    qwire::test::drain_output(d);
    run(d, "query-status");
}

TEST_CASE("qmp client: file descriptors travel with the first byte of their command") {
    auto c = qwire::test::ready_client();
    run(c, "query-status");
    qmp::exec_options with_fd;
    with_fd.fds = {5, 6};
    run(c, "getfd", {{"fdname", "f"}}, with_fd);
    auto v = c.pending_output();
    CHECK(v.bytes == R"({"execute":"query-status","id":0})");
    CHECK(v.fds.empty());
    c.consume_output(v.bytes.size());
    v = c.pending_output();
    CHECK(v.bytes == R"({"execute":"getfd","arguments":{"fdname":"f"},"id":1})");
    CHECK(std::vector<int>(v.fds.begin(), v.fds.end()) == std::vector<int>{5, 6});
    c.consume_output(3);
    CHECK(c.pending_output().fds.empty());
}

TEST_CASE("qmp client: fire and forget without a deadline completes when written") {
    auto c = qwire::test::ready_client();
    qmp::exec_options forget;
    forget.expect_reply = false;
    run(c, "quit", nullptr, forget);
    auto v = c.pending_output();
    c.consume_output(v.bytes.size() - 1);
    CHECK(qwire::test::drain_events(c).empty());
    c.consume_output(1);
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"no_reply 0"});
    // QEMU's reply that still comes is dropped quietly, and so is the EOF that follows quit.
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    CHECK(qwire::test::drain_events(c).empty());
    CHECK(c.late_replies() == 1);
    CHECK(c.violations() == 0);
    REQUIRE(c.receive_eof());
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"disconnect peer_closed"});
}

TEST_CASE("qmp client: cancel a held request and a sent one") {
    auto c = qwire::test::ready_client({}, greeting_plain);
    auto sent = c.execute("slow");
    auto held = c.execute("query-status");
    CHECK(qwire::test::drain_output(c) == R"({"execute":"slow","id":0})");
    REQUIRE(c.cancel(*held));
    REQUIRE(c.cancel(*sent));
    CHECK(c.cancel(*sent).error().code() == qwire::errc::unknown_request);
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"request_failed 1 cancelled", "request_failed 0 cancelled"});
    // The cancelled request keeps its slot until QEMU answers it; then the slot frees.
    run(c, "next");
    CHECK(qwire::test::drain_output(c).empty());
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    CHECK(qwire::test::drain_events(c).empty());
    CHECK(qwire::test::drain_output(c) == R"({"execute":"next","id":2})");
}

TEST_CASE("qmp client: close fails pending requests with cancelled, in order, then disconnects") {
    auto c = qwire::test::ready_client();
    run(c, "a");
    run(c, "b");
    REQUIRE(c.receive(R"({"event": "X", "timestamp": {"seconds": 0, "microseconds": 0}})"));
    REQUIRE(c.close());
    CHECK(c.state() == qmp::client_state::closing);
    CHECK(c.pending_output().bytes.empty());
    CHECK(qwire::test::drain_events(c) == std::vector<std::string>{"event X null 0.0", "request_failed 0 cancelled",
                                                                   "request_failed 1 cancelled", "disconnect closed"});
    CHECK(c.state() == qmp::client_state::closed);
    CHECK(c.execute("x").error().code() == qwire::errc::invalid_state);
    CHECK(c.receive("{}").error().code() == qwire::errc::invalid_state);
    CHECK(c.receive_eof().error().code() == qwire::errc::invalid_state);
    CHECK(c.close().error().code() == qwire::errc::invalid_state);
    CHECK(c.handle_timeout(qwire::time_point{}).error().code() == qwire::errc::invalid_state);
    CHECK_FALSE(c.next_event());
    CHECK_FALSE(c.next_deadline());
}

TEST_CASE("qmp client: EOF and transport failure end the session with their own reasons") {
    auto eof = qwire::test::ready_client();
    run(eof, "a");
    REQUIRE(eof.receive_eof());
    CHECK(qwire::test::drain_events(eof) == std::vector<std::string>{"request_failed 0 connection_lost", "disconnect peer_closed"});

    auto failed = qwire::test::ready_client();
    run(failed, "a");
    REQUIRE(failed.transport_failed(std::make_error_code(std::errc::connection_reset)));
    auto e1 = failed.next_event();
    REQUIRE(e1);
    CHECK(std::get<qwire::request_failed>(*e1).error.cause() == std::errc::connection_reset);
    auto e2 = failed.next_event();
    REQUIRE(e2);
    const auto& reason = std::get<qwire::disconnect>(*e2).reason;
    CHECK(reason.code() == qwire::errc::connection_lost);
    CHECK(reason.cause() == std::errc::connection_reset);
}

TEST_CASE("qmp client: the message observer sees what goes in and out") {
    std::vector<std::string> seen;
    qmp::client_options options;
    options.observer = [&](qwire::direction d, std::string_view m) {
        seen.push_back((d == qwire::direction::inbound ? "in " : "out ") + std::string(m));
    };
    auto c = qwire::test::ready_client(options, greeting_plain);
    run(c, "query-status");
    REQUIRE(c.receive("{\"return\": {}, \"id\": 0}\r\n"));
    CHECK(seen == std::vector<std::string>{"in " + s(greeting_plain.substr(0, greeting_plain.size() - 2)),
                                           R"(out {"execute":"qmp_capabilities"})", "in {\"return\": {}}",
                                           R"(out {"execute":"query-status","id":0})", "in {\"return\": {}, \"id\": 0}"});
}

TEST_CASE("qmp client: a moved client carries on") {
    auto c = qwire::test::ready_client();
    run(c, "a");
    qmp::client moved = std::move(c);
    REQUIRE(moved.receive(R"({"return": 1, "id": 0})"));
    CHECK(qwire::test::drain_events(moved) == std::vector<std::string>{"reply 0 1"});
    qmp::client assigned;
    assigned = std::move(moved);
    CHECK(assigned.is_ready());
    CHECK(assigned.greeting()->capabilities == std::vector<std::string>{"oob"});
    CHECK(assigned.greeting()->version["qemu"]["major"] == 7);
}
