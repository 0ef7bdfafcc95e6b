// Deadlines with a simulated clock: nothing here reads a real clock.
#include "qmp_harness.hpp"

using namespace std::chrono_literals;
using qwire::test::drain_events;
using qwire::test::drain_output;
namespace qmp = qwire::qmp;
using events = std::vector<std::string>;

namespace {
const qwire::time_point t0 = qwire::time_point{} + 1000s;

qmp::exec_options at(qwire::time_point deadline) {
    qmp::exec_options o;
    o.deadline = deadline;
    return o;
}
}  // namespace

TEST_CASE("qmp timeout: a request past its deadline fails; the session goes on") {
    auto c = qwire::test::ready_client();
    auto slow = c.execute("slow", nullptr, at(t0 + 5s));
    auto fast = c.execute("fast", nullptr, at(t0 + 10s));
    drain_output(c);
    CHECK(c.next_deadline() == t0 + 5s);
    REQUIRE(c.handle_timeout(t0 + 4s));  // early: nothing happens
    CHECK(drain_events(c).empty());
    REQUIRE(c.handle_timeout(t0 + 5s));
    CHECK(drain_events(c) == events{"request_failed 0 timed_out"});
    CHECK(c.next_deadline() == t0 + 10s);
    CHECK(c.is_ready());
    // The late reply is dropped quietly; the other request still completes.
    REQUIRE(c.receive(R"({"return": {}, "id": 0}{"return": 2, "id": 1})"));
    CHECK(drain_events(c) == events{"reply 1 2"});
    CHECK(c.late_replies() == 1);
    CHECK(c.violations() == 0);
    CHECK_FALSE(c.next_deadline());
    (void)slow;
    (void)fast;
}

TEST_CASE("qmp timeout: held requests time out too, and never get sent") {
    auto c = qwire::test::ready_client({}, qwire::test::greeting_plain);
    c.execute("a").value();
    c.execute("b", nullptr, at(t0 + 1s)).value();
    c.execute("c").value();
    CHECK(drain_output(c) == R"({"execute":"a","id":0})");
    REQUIRE(c.handle_timeout(t0 + 1s));
    CHECK(drain_events(c) == events{"request_failed 1 timed_out"});
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    CHECK(drain_output(c) == R"({"execute":"c","id":2})");
}

TEST_CASE("qmp timeout: a timed-out in-band request keeps its slot until QEMU answers") {
    auto c = qwire::test::ready_client({}, qwire::test::greeting_plain);
    c.execute("hangs", nullptr, at(t0 + 1s)).value();
    c.execute("next").value();
    drain_output(c);
    REQUIRE(c.handle_timeout(t0 + 2s));
    CHECK(drain_output(c).empty());  // QEMU still works on "hangs"
    REQUIRE(c.receive(R"({"return": {}, "id": 0})"));
    CHECK(drain_output(c) == R"({"execute":"next","id":1})");
}

TEST_CASE("qmp timeout: the default command timeout needs the current time") {
    qmp::client_options options;
    options.command_timeout = 3s;
    auto c = qwire::test::ready_client(options);
    CHECK(c.execute("x").error().code() == qwire::errc::invalid_argument);
    qmp::exec_options now;
    now.now = t0;
    c.execute("x", nullptr, now).value();
    CHECK(c.next_deadline() == t0 + 3s);
    now.timeout = 1s;
    c.execute("y", nullptr, now).value();
    CHECK(c.next_deadline() == t0 + 1s);
    now.deadline = t0 + 500ms;  // an absolute deadline wins
    c.execute("z", nullptr, now).value();
    CHECK(c.next_deadline() == t0 + 500ms);
}

TEST_CASE("qmp timeout: fire and forget with a deadline completes then, unless an error comes first") {
    auto c = qwire::test::ready_client();
    qmp::exec_options forget = at(t0 + 2s);
    forget.expect_reply = false;
    c.execute("guest-shutdown", nullptr, forget).value();
    c.execute("guest-suspend-ram", nullptr, forget).value();
    drain_output(c);
    CHECK(drain_events(c).empty());  // written is not enough when a deadline is set
    REQUIRE(c.receive(R"({"error": {"class": "GenericError", "desc": "no"}, "id": 1})"));
    CHECK(drain_events(c) == events{"error_reply 1 GenericError: no"});
    REQUIRE(c.handle_timeout(t0 + 2s));
    CHECK(drain_events(c) == events{"no_reply 0"});
    CHECK(c.pending_requests() == 0);
}

TEST_CASE("qmp timeout: a handshake past its deadline disconnects") {
    SECTION("no greeting") {
        qmp::client_options options;
        options.handshake_deadline = t0 + 5s;
        qmp::client c(options);
        c.execute("held").value();
        CHECK(c.next_deadline() == t0 + 5s);
        REQUIRE(c.handle_timeout(t0 + 1s));
        CHECK(c.is_open());
        REQUIRE(c.handle_timeout(t0 + 5s));
        CHECK(drain_events(c) == events{"request_failed 0 connection_lost", "disconnect handshake_timed_out"});
        CHECK(c.state() == qmp::client_state::closed);
    }
    SECTION("no reply to qmp_capabilities") {
        qmp::client_options options;
        options.handshake_deadline = t0 + 5s;
        qmp::client c(options);
        REQUIRE(c.receive(qwire::test::greeting_oob));
        REQUIRE(c.handle_timeout(t0 + 6s));
        CHECK(drain_events(c) == events{"greeting oob", "disconnect handshake_timed_out"});
    }
    SECTION("no deadline once ready") {
        qmp::client_options options;
        options.handshake_deadline = t0 + 5s;
        auto c = qwire::test::ready_client(options);
        CHECK_FALSE(c.next_deadline());
        REQUIRE(c.handle_timeout(t0 + 60s));
        CHECK(c.is_ready());
    }
}

TEST_CASE("qmp timeout: cancel removes the deadline") {
    auto c = qwire::test::ready_client();
    auto id = c.execute("x", nullptr, at(t0 + 1s)).value();
    REQUIRE(c.cancel(id));
    CHECK_FALSE(c.next_deadline());
    REQUIRE(c.handle_timeout(t0 + 2s));
    CHECK(drain_events(c) == events{"request_failed 0 cancelled"});
}
