// Deadlines with a simulated clock: nothing here reads a real clock.
#include <chrono>

#include "qtest_harness.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::test::drain_events;
using qwire::test::drain_output;
using qwire::test::qtest_scenario;
using qwire::test::refused;
using qwire::test::sent;
namespace qtest = qwire::qtest;
using events = std::vector<std::string>;

namespace {

const qwire::time_point t0 = qwire::time_point{} + 1000s;

qtest::exec_options by(qwire::time_point deadline) {
    qtest::exec_options o;
    o.deadline = deadline;
    return o;
}

}  // namespace

TEST_CASE("qtest timeout: a command past its deadline fails; its late reply is dropped; order holds") {
    qtest::client c;
    sent(c.readl(0, by(t0 + 5s)));
    sent(c.readw(0, by(t0 + 10s)));
    sent(c.readb(0));
    CHECK(drain_output(c) == "readl 0x0\nreadw 0x0\nreadb 0x0\n");
    CHECK(c.next_deadline() == t0 + 5s);
    REQUIRE(c.handle_timeout(t0 + 4s));  // early: nothing happens
    CHECK(drain_events(c).empty());
    REQUIRE(c.handle_timeout(t0 + 5s));
    CHECK(drain_events(c) == events{"request_failed 0 timed_out"});
    CHECK(c.next_deadline() == t0 + 10s);
    CHECK(c.pending_requests() == 2);
    CHECK(c.unanswered() == 3);
    CHECK(c.is_open());
    // The late reply to readl goes nowhere; readw and readb still get their own.
    REQUIRE(c.receive("OK 0x00000000deadbeef\nOK 0x000000000000beef\nOK 0x00000000000000ef\n"));
    CHECK(drain_events(c) == events{"reply 1 0xbeef", "reply 2 0xef"});
    CHECK(c.late_replies() == 1);
    CHECK(c.violations() == 0);
    CHECK_FALSE(c.next_deadline());
}

TEST_CASE("qtest timeout: several deadlines at once fail in command order") {
    qtest::client c;
    sent(c.readl(0, by(t0 + 3s)));
    sent(c.readl(4, by(t0 + 1s)));
    sent(c.readl(8));
    sent(c.readl(12, by(t0 + 2s)));
    CHECK(c.next_deadline() == t0 + 1s);
    REQUIRE(c.handle_timeout(t0 + 3s));
    CHECK(drain_events(c) ==
          events{"request_failed 0 timed_out", "request_failed 1 timed_out", "request_failed 3 timed_out"});
    CHECK_FALSE(c.next_deadline());
    REQUIRE(c.handle_timeout(t0 + 3s));  // again: nothing more
    CHECK(drain_events(c).empty());
}

TEST_CASE("qtest timeout: the default command timeout counts from exec_options::now") {
    qtest::client_options options;
    options.command_timeout = 3s;
    qtest::client c(options);
    qtest::exec_options now;
    now.now = t0;
    sent(c.readl(0, now));
    CHECK(c.next_deadline() == t0 + 3s);
    now.timeout = 1s;
    sent(c.readl(0, now));
    CHECK(c.next_deadline() == t0 + 1s);
    now.deadline = t0 + 500ms;  // an absolute deadline wins
    sent(c.readl(0, now));
    CHECK(c.next_deadline() == t0 + 500ms);
    REQUIRE(c.handle_timeout(t0 + 2s));
    CHECK(drain_events(c) == events{"request_failed 1 timed_out", "request_failed 2 timed_out"});
    CHECK(c.next_deadline() == t0 + 3s);
}

TEST_CASE("qtest timeout: a reply before the deadline clears it") {
    qtest::client c;
    sent(c.endianness(by(t0 + 1s)));
    REQUIRE(c.receive("OK little\n"));
    CHECK_FALSE(c.next_deadline());
    REQUIRE(c.handle_timeout(t0 + 1s));
    CHECK(drain_events(c) == events{"reply 0 little"});
}

TEST_CASE("qtest timeout: a late reply that does not fit its command is still fatal") {
    qtest::client c;
    sent(c.readb(0, by(t0 + 1s)));
    sent(c.readb(1));
    REQUIRE(c.handle_timeout(t0 + 1s));
    REQUIRE(c.receive("OK little\n"));
    CHECK(drain_events(c) ==
          events{"request_failed 0 timed_out", "request_failed 1 connection_lost", "disconnect unexpected_message"});
}

TEST_CASE("qtest timeout: timed-out and cancelled commands are not failed again at the disconnect") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.readl(0, by(t0 + 1s)));
        sent(c.readl(4));
        sent(c.readl(8));
        REQUIRE(c.handle_timeout(t0 + 1s));
        REQUIRE(c.cancel(qwire::request_id{2}));
    };
    sc.after = [](qtest::client& c) {
        REQUIRE(c.receive_eof());
        CHECK_FALSE(c.next_deadline());
    };
    sc.check("IRQ raise 1\n", {"request_failed 0 timed_out", "request_failed 2 cancelled", "irq raise 1",
                               "request_failed 1 connection_lost", "disconnect peer_closed"});
}

TEST_CASE("qtest timeout: handle_timeout is refused once the session is over") {
    qtest::client c;
    sent(c.readl(0, by(t0 + 1s)));
    REQUIRE(c.close());
    CHECK_FALSE(c.next_deadline());
    refused(c.handle_timeout(t0 + 2s), errc::invalid_state);
    CHECK(drain_events(c) == events{"request_failed 0 cancelled", "disconnect closed"});
}
