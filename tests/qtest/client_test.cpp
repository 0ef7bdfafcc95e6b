// qwire::qtest::client with literal bytes: how every command is written, how every reply is
// decoded, IRQ lines and levels, FAIL and ERR, limits, cancel, close, EOF and transport failure.
// Scenarios run whole, byte by byte and at every two-piece split.
#include <chrono>
#include <map>

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

TEST_CASE("qtest client: every typed command is one compact line, numbers as QEMU parses them") {
    qtest::client c;
    sent(c.readb(0x100000));
    sent(c.readw(0));
    sent(c.readl(0xfffffff0));
    sent(c.readq(0xffffffffffffffff));
    sent(c.writeb(0x10, 0xff));
    sent(c.writew(0x10, 0xbeef));
    sent(c.writel(0x100000, 0xdeadbeef));
    sent(c.writeq(0x100008, 0x0123456789abcdef));
    sent(c.inb(0x71));
    sent(c.inw(0));
    sent(c.inl(0xcf8));
    sent(c.outb(0x70, 0x0b));
    sent(c.outw(0xffff, 0x1234));
    sent(c.outl(0xcf8, 0x80000000));
    sent(c.read(0x100000, 16));
    sent(c.write(0x100010, qtest::bytes{0x01, 0x02, 0x03, 0x04}));
    sent(c.b64read(0x100010, 4));
    sent(c.b64write(0x100020, qtest::bytes{1, 2, 3}));
    sent(c.b64write(0x100020, qtest::bytes{0xff}));
    sent(c.memset(0x100030, 4, 0xab));
    sent(c.irq_intercept_in("ioapic"));
    sent(c.irq_intercept_out("/machine/unattached/device[3]"));
    sent(c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 5, 1));
    sent(c.set_irq_in("ioapic", "named-list", 0, -1));
    sent(c.clock_step_next());
    sent(c.clock_step(1000ns));
    sent(c.clock_set(5s));
    sent(c.endianness());
    sent(c.module_load("accel", "tcg"));
    sent(c.raw("foo bar baz"));
    CHECK(drain_output(c) ==
          "readb 0x100000\nreadw 0x0\nreadl 0xfffffff0\nreadq 0xffffffffffffffff\n"
          "writeb 0x10 0xff\nwritew 0x10 0xbeef\nwritel 0x100000 0xdeadbeef\nwriteq 0x100008 0x123456789abcdef\n"
          "inb 0x71\ninw 0x0\ninl 0xcf8\noutb 0x70 0xb\noutw 0xffff 0x1234\noutl 0xcf8 0x80000000\n"
          "read 0x100000 16\nwrite 0x100010 4 0x01020304\nb64read 0x100010 4\nb64write 0x100020 3 AQID\n"
          "b64write 0x100020 1 /w==\nmemset 0x100030 4 0xab\nirq_intercept_in ioapic\n"
          "irq_intercept_out /machine/unattached/device[3]\nset_irq_in ioapic unnamed-gpio-in 5 1\n"
          "set_irq_in ioapic named-list 0 -1\nclock_step\nclock_step 1000\nclock_set 5000000000\n"
          "endianness\nmodule_load accel tcg\nfoo bar baz\n");
    CHECK(c.pending_requests() == 30);
    CHECK(c.unanswered() == 30);
}

TEST_CASE("qtest client: replies are decoded into the value their command gets") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.readb(0));
        sent(c.readw(0));
        sent(c.readl(0));
        sent(c.readq(0));
        sent(c.inb(0x71));
        sent(c.inw(0x71));
        sent(c.inl(0xcf8));
        sent(c.read(0, 3));
        sent(c.b64read(0, 4));
        sent(c.clock_step_next());
        sent(c.clock_set(-1ns));
        sent(c.endianness());
        sent(c.endianness());
        sent(c.writel(0, 1));
        sent(c.raw("foo"));
        sent(c.raw("readl 0x0"));
        sent(c.raw("whatever"));
    };
    sc.check(
        "OK 0x00000000000000ef\nOK 0x000000000000BEEF\nOK 0x00000000deadbeef\nOK 0xffffffffffffffff\n"
        "OK 0x0002\nOK 0xff02\nOK 0x0000\nOK 0x01ab0F\nOK AQIDBA==\nOK 1000000\nOK -5\n"
        "OK little\nOK big\nOK\nOK\nOK 0x00000000deadbeef\nOK  two  spaces \n",
        {"reply 0 0xef", "reply 1 0xbeef", "reply 2 0xdeadbeef", "reply 3 0xffffffffffffffff", "reply 4 0x2",
         "reply 5 0xff02", "reply 6 0x0", "reply 7 bytes 01ab0f", "reply 8 bytes 01020304", "reply 9 1000000ns",
         "reply 10 -5ns", "reply 11 little", "reply 12 big", "reply 13 OK", "reply 14 text ''",
         "reply 15 text '0x00000000deadbeef'", "reply 16 text ' two  spaces '"});
}

TEST_CASE("qtest client: FAIL and ERR are error replies; the session goes on") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.clock_step_next());
        sent(c.set_irq_in("nosuchdev", qtest::unnamed_gpio_in, 5, 0));
        sent(c.module_load("accel", "tcg"));
        sent(c.raw("foo"));
        sent(c.raw("baz"));
        sent(c.raw("bar"));
        sent(c.readl(0));
    };
    sc.after = [](qtest::client& c) {
        CHECK(c.is_open());
        CHECK(c.pending_requests() == 0);
        CHECK(c.violations() == 0);
    };
    sc.check(
        "FAIL Unknown command 'clock_step'\nFAIL Unknown device\nFAIL\n"
        "FAIL Unknown command 'foo\r'\nERR invalid argument size\nERR\nOK 0x0000000000000001\n",
        {"fail 0 Unknown command 'clock_step'", "fail 1 Unknown device", "fail 2", "fail 3 Unknown command 'foo\r'",
         "err 4 invalid argument size", "err 5", "reply 6 0x1"});
}

TEST_CASE("qtest client: IRQ lines become events wherever they come, and complete nothing") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.irq_intercept_in("ioapic"));
        sent(c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 5, 1));
        sent(c.inb(0x71));
    };
    sc.after = [](qtest::client& c) {
        CHECK(c.irq_raised(5));
        CHECK_FALSE(c.irq_raised(8));
        CHECK_FALSE(c.irq_raised(0));
        CHECK(c.irq_levels() == std::map<std::uint32_t, bool>{{0, false}, {5, true}, {8, false}, {4294967295, false}});
    };
    // Unsolicited before any reply, before the OK of the command that caused it, after it.
    sc.check(
        "IRQ raise 0\nIRQ lower 0\nOK\nIRQ raise 5\nOK\nIRQ raise 8\nIRQ lower 8\nOK 0x00d0\n"
        "IRQ raise 4294967295\nIRQ lower 4294967295\n",
        {"irq raise 0", "irq lower 0", "reply 0 OK", "irq raise 5", "reply 1 OK", "irq raise 8", "irq lower 8",
         "reply 2 0xd0", "irq raise 4294967295", "irq lower 4294967295"});
}

TEST_CASE("qtest client: the IRQ level follows each line as it is received, delivered or not") {
    qtest::client c;
    REQUIRE(c.receive("IRQ raise 3\nIRQ raise 9\n"));
    CHECK(c.irq_raised(3));
    CHECK(c.irq_raised(9));
    REQUIRE(c.receive("IRQ lower 3\nIRQ raise 3"));  // the last line is not complete yet
    CHECK_FALSE(c.irq_raised(3));
    REQUIRE(c.receive("\n"));
    CHECK(c.irq_raised(3));
    // QEMU reports changes only, but a repeated level is harmless.
    REQUIRE(c.receive("IRQ raise 3\n"));
    CHECK(c.irq_raised(3));
    CHECK(drain_events(c) == events{"irq raise 3", "irq raise 9", "irq lower 3", "irq raise 3", "irq raise 3"});
    CHECK(c.violations() == 0);
}

TEST_CASE("qtest client: undelivered IRQ events are limited; replies never dropped; levels stay exact") {
    qtest::client_options options;
    options.max_undelivered_events = 2;
    const std::string stream = "IRQ raise 1\nIRQ raise 2\nOK\nIRQ raise 3\nIRQ lower 1\nIRQ lower 2\n";
    SECTION("drop_oldest") {
        qtest_scenario sc;
        sc.options = options;
        sc.before = [](qtest::client& c) { sent(c.writel(0, 0)); };
        sc.after = [](qtest::client& c) {
            CHECK(c.events_dropped() == 3);
            CHECK(c.irq_levels() == std::map<std::uint32_t, bool>{{1, false}, {2, false}, {3, true}});
        };
        sc.check(stream, {"reply 0 OK", "irq lower 1", "irq lower 2"});
    }
    SECTION("drop_newest") {
        qtest_scenario sc;
        sc.options = options;
        sc.options.on_event_overflow = qwire::overflow_policy::drop_newest;
        sc.before = [](qtest::client& c) { sent(c.writel(0, 0)); };
        sc.after = [](qtest::client& c) {
            CHECK(c.events_dropped() == 3);
            CHECK_FALSE(c.irq_raised(1));
        };
        sc.check(stream, {"irq raise 1", "irq raise 2", "reply 0 OK"});
    }
}

TEST_CASE("qtest client: a reply while no command waits is dropped and reported; the session goes on") {
    qtest_scenario sc;
    sc.after = [](qtest::client& c) {
        CHECK(c.violations() == 2);
        CHECK(c.is_open());
        sent(c.readb(0));
        REQUIRE(c.receive("OK 0x0000000000000007\n"));
    };
    sc.check("OK\nIRQ raise 1\nFAIL Unknown command 'endianness\r'\n",
             {"violation unknown_reply_id", "irq raise 1", "violation unknown_reply_id", "reply 0 0x7"});
}

TEST_CASE("qtest client: commands are queued up to max_queued_commands unanswered ones") {
    qtest::client_options options;
    options.max_queued_commands = 2;
    qtest::client c(options);
    sent(c.readl(0));
    sent(c.readl(4));
    const auto full = c.readl(8);
    refused(full, errc::queue_full);
    CHECK(full.error().is_retryable());
    REQUIRE(c.cancel(qwire::request_id{0}));  // cancelled, but QEMU still owes its reply
    refused(c.readl(8), errc::queue_full);
    CHECK(c.pending_requests() == 1);
    CHECK(c.unanswered() == 2);
    REQUIRE(c.receive("OK 0x0000000000000000\n"));
    CHECK(sent(c.readl(8)) == 2);
    CHECK(drain_output(c) == "readl 0x0\nreadl 0x4\nreadl 0x8\n");
    CHECK(drain_events(c) == events{"request_failed 0 cancelled"});
    CHECK(c.late_replies() == 1);
}

TEST_CASE("qtest client: the output backlog is limited") {
    qtest::client_options options;
    options.max_output_bytes = 20;
    qtest::client c(options);
    sent(c.readl(0x1000));  // 15 bytes
    refused(c.readl(0x1000), errc::backlog_full);
    auto view = c.pending_output();
    CHECK(view.bytes == "readl 0x1000\n");
    CHECK(view.fds.empty());
    c.consume_output(6);
    CHECK(c.pending_output().bytes == "0x1000\n");
    sent(c.readb(0));
    CHECK(drain_output(c) == "0x1000\nreadb 0x0\n");
    CHECK(c.unanswered() == 2);
}

TEST_CASE("qtest client: a reply line is limited to max_line_bytes; reads that could not fit are refused") {
    qtest::client_options options;
    options.max_line_bytes = 101;
    SECTION("read and b64read are refused when their reply would not fit") {
        qtest::client c(options);
        sent(c.read(0, 48));                                // OK 0x + 96 digits = 101 bytes
        refused(c.read(0, 49), errc::invalid_argument);     // 103
        sent(c.b64read(0, 72));                             // OK + 96 = 99
        refused(c.b64read(0, 73), errc::invalid_argument);  // 103
        refused(c.read(0, ~std::uint64_t{0}), errc::invalid_argument);
        refused(c.b64read(0, ~std::uint64_t{0}), errc::invalid_argument);
        refused(c.raw("read 0x0 49"), errc::invalid_argument);
        CHECK(c.unanswered() == 2);
    }
    SECTION("a reply of exactly the limit is accepted") {
        qtest_scenario sc;
        sc.options = options;
        sc.before = [](qtest::client& c) { sent(c.read(0, 48)); };
        sc.check("OK 0x" + std::string(96, 'a') + "\n", {"reply 0 bytes " + std::string(96, 'a')});
    }
    SECTION("one byte more ends the session") {
        qtest_scenario sc;
        sc.options = options;
        sc.before = [](qtest::client& c) { sent(c.raw("x")); };
        sc.check("OK " + std::string(99, 'a'), {"request_failed 0 connection_lost", "disconnect frame_too_large"});
    }
}

TEST_CASE("qtest client: cancel fails a command now and drops its reply later") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        const auto first = sent(c.readl(0));
        sent(c.readw(0));
        REQUIRE(c.cancel(qwire::request_id{first}));
        refused(c.cancel(qwire::request_id{first}), errc::unknown_request);
        refused(c.cancel(qwire::request_id{7}), errc::unknown_request);
    };
    sc.after = [](qtest::client& c) {
        CHECK(c.late_replies() == 1);
        CHECK(c.violations() == 0);
        refused(c.cancel(qwire::request_id{1}), errc::unknown_request);
    };
    const auto log =
        sc.check("OK 0x0000000000000001\nOK 0x0000000000000002\n", {"request_failed 0 cancelled", "reply 1 0x2"});
    CHECK(log.written == "readl 0x0\nreadw 0x0\n");
}

TEST_CASE("qtest client: close fails pending commands with cancelled, in order, then disconnects") {
    qtest::client c;
    sent(c.readl(0));
    sent(c.readl(4));
    sent(c.readl(8));
    REQUIRE(c.cancel(qwire::request_id{1}));
    REQUIRE(c.receive("IRQ raise 2\nOK 0x0000000000000000\n"));
    REQUIRE(c.close());
    CHECK(c.state() == qtest::client_state::closing);
    CHECK_FALSE(c.is_open());
    CHECK(c.pending_output().bytes.empty());
    CHECK(c.pending_requests() == 0);
    CHECK(drain_events(c) == events{"request_failed 1 cancelled", "irq raise 2", "reply 0 0x0",
                                    "request_failed 2 cancelled", "disconnect closed"});
    CHECK(c.state() == qtest::client_state::closed);
    CHECK_FALSE(c.next_event());
    CHECK_FALSE(c.next_deadline());
    refused(c.readl(0), errc::invalid_state);
    refused(c.raw("x"), errc::invalid_state);
    refused(c.receive("OK\n"), errc::invalid_state);
    refused(c.receive_eof(), errc::invalid_state);
    refused(c.transport_failed(std::make_error_code(std::errc::broken_pipe)), errc::invalid_state);
    refused(c.handle_timeout(qwire::time_point{}), errc::invalid_state);
    refused(c.cancel(qwire::request_id{2}), errc::invalid_state);
    refused(c.close(), errc::invalid_state);
    c.consume_output(10);
    CHECK_FALSE(c.next_event());
}

TEST_CASE("qtest client: EOF between lines delivers what came, fails the rest in order, then peer_closed") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.readl(0));
        sent(c.writel(0, 1));
        sent(c.readb(0));
    };
    sc.after = [](qtest::client& c) {
        REQUIRE(c.receive_eof());
        CHECK(c.state() == qtest::client_state::closing);
    };
    sc.check("IRQ raise 1\nOK 0x0000000000000005\n", {"irq raise 1", "reply 0 0x5", "request_failed 1 connection_lost",
                                                      "request_failed 2 connection_lost", "disconnect peer_closed"});
}

TEST_CASE("qtest client: EOF inside a line is connection_lost; nothing of the cut line is delivered") {
    qtest_scenario sc;
    sc.before = [](qtest::client& c) {
        sent(c.readl(0));
        sent(c.readl(4));
    };
    sc.after = [](qtest::client& c) { REQUIRE(c.receive_eof()); };
    sc.check("OK 0x0000000000000005\nOK 0x00000",
             {"reply 0 0x5", "request_failed 1 connection_lost", "disconnect connection_lost"});
}

TEST_CASE("qtest client: a transport failure carries its cause to every failed command and the disconnect") {
    qtest::client c;
    sent(c.readl(0));
    sent(c.readl(4));
    REQUIRE(c.receive("IRQ lower 4\n"));
    REQUIRE(c.transport_failed(std::make_error_code(std::errc::connection_reset)));
    CHECK(c.pending_output().bytes.empty());
    auto e = c.next_event();
    REQUIRE(e);
    CHECK(std::get<qtest::irq>(*e) == qtest::irq{4, false});
    for (std::uint64_t id : {0, 1}) {
        e = c.next_event();
        REQUIRE(e);
        const auto& failed = std::get<qwire::request_failed>(*e);
        CHECK(failed.id.value == id);
        CHECK(failed.error.code() == errc::connection_lost);
        CHECK(failed.error.cause() == std::errc::connection_reset);
    }
    e = c.next_event();
    REQUIRE(e);
    const auto& reason = std::get<qwire::disconnect>(*e).reason;
    CHECK(reason.code() == errc::connection_lost);
    CHECK(reason.cause() == std::errc::connection_reset);
    CHECK_FALSE(c.next_event());
}

TEST_CASE("qtest client: the observer sees every line in and out, without its LF") {
    std::vector<std::string> seen;
    qtest::client_options options;
    options.observer = [&](qwire::direction d, std::string_view line) {
        seen.push_back((d == qwire::direction::inbound ? "in " : "out ") + std::string(line));
    };
    qtest::client c(options);
    sent(c.readl(0x10));
    refused(c.raw(""), errc::invalid_argument);  // refused commands are not shown
    REQUIRE(c.receive("IRQ raise 1\nOK 0x0000000000000002\n"));
    CHECK(seen == std::vector<std::string>{"out readl 0x10", "in IRQ raise 1", "in OK 0x0000000000000002"});
}

TEST_CASE("qtest client: received bytes may come as std::byte") {
    qtest::client c;
    sent(c.endianness());
    const std::string line = "OK big\n";
    REQUIRE(c.receive(std::as_bytes(std::span(line.data(), line.size()))));
    auto e = c.next_event();
    REQUIRE(e);
    CHECK(std::get<qtest::reply>(*e).value == qtest::reply_value{qtest::endianness::big});
}

TEST_CASE("qtest client: a moved client carries on") {
    qtest::client c;
    sent(c.readq(0));
    REQUIRE(c.receive("IRQ raise 7\n"));
    qtest::client moved = std::move(c);
    REQUIRE(moved.receive("OK 0x0000000000000001\n"));
    qtest::client assigned;
    assigned = std::move(moved);
    CHECK(assigned.irq_raised(7));
    CHECK(drain_events(assigned) == events{"irq raise 7", "reply 0 0x1"});
    CHECK(sent(assigned.readb(0)) == 1);
}
