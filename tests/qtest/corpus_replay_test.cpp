// Real QEMU 7.2 qtest sessions from ../shared/corpus/qtest replayed into a client that sends the
// same commands through the typed API. Each session runs three ways: every command sent first
// and the server bytes fed whole, byte by byte and at every two-piece split; and once more as
// recorded (chunks.json), each command sent when the recording sent it and the server bytes fed
// in the sizes they arrived in. Every way must give the same events and write the recorded
// client bytes (up to the spelling of a few numbers, listed with each session).
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "qtest_harness.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::test::drain_events;
using qwire::test::drain_output;
using qwire::test::session_log;
using qwire::test::qtest_scenario;
namespace qtest = qwire::qtest;
using C = qtest::client;
using result = tl::expected<qwire::request_id, qwire::error>;

namespace {

// One recorded command line, the call that sends it, and how the client spells it when that
// differs from the recording (the recorder zero-padded some hex values; QEMU reads both alike).
struct step {
    std::function<result(C&)> call;
    std::string respelled = {};
    bool refused = false;  // the client must refuse this line (invalid_argument)
};

struct session {
    std::string name;
    std::vector<step> steps;
    std::vector<std::string> expected;
    std::function<void(C&)> after = [](C&) {};
};

std::vector<std::string> lines_of(std::string_view bytes) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t end = bytes.find('\n', at);
        REQUIRE(end != std::string_view::npos);
        out.emplace_back(bytes.substr(at, end + 1 - at));
        at = end + 1;
    }
    return out;
}

// What the client must write: the recorded lines, respelled where listed, refused ones left out.
std::string expected_written(const session& s, const std::vector<std::string>& recorded) {
    std::string out;
    for (std::size_t i = 0; i < s.steps.size(); ++i) {
        if (s.steps[i].refused) continue;
        out += s.steps[i].respelled.empty() ? recorded[i] : s.steps[i].respelled + "\n";
    }
    return out;
}

void send(C& c, const step& st) {
    const result r = st.call(c);
    if (st.refused) {
        qwire::test::refused(r, errc::invalid_argument);
    } else {
        qwire::test::sent(r);
    }
}

// Sends the commands when the recording did and feeds the server bytes in recorded sizes.
session_log replay_chunks(const session& s, const std::vector<std::string>& recorded, const std::string& s2c,
                        const nlohmann::json& chunks) {
    C c;
    session_log log;
    std::size_t next_step = 0, fed = 0;
    for (const auto& chunk : chunks["chunks"]) {
        std::size_t size = chunk[2].get<std::size_t>();
        if (chunk[0] == "c2s") {
            while (size > 0) {
                REQUIRE(next_step < s.steps.size());
                REQUIRE(recorded[next_step].size() <= size);
                size -= recorded[next_step].size();
                send(c, s.steps[next_step++]);
            }
            log.written += drain_output(c);
        } else {
            REQUIRE(c.receive(std::string_view(s2c).substr(fed, size)));
            fed += size;
        }
    }
    CHECK(next_step == s.steps.size());
    CHECK(fed == s2c.size());
    s.after(c);
    log.events = drain_events(c);
    return log;
}

void replay(const session& s) {
    const auto s2c = qwire::test::corpus_file("qtest/" + s.name + ".s2c");
    const auto c2s = qwire::test::corpus_file("qtest/" + s.name + ".c2s");
    const auto chunks = qwire::test::corpus_file("qtest/" + s.name + ".chunks.json");
    if (!s2c || !c2s || !chunks) QWIRE_SKIP("no corpus");
    const auto recorded = lines_of(*c2s);
    REQUIRE(recorded.size() == s.steps.size());
    const std::string written = expected_written(s, recorded);

    qtest_scenario sc;
    sc.before = [&s](C& c) {
        for (const step& st : s.steps) send(c, st);
    };
    sc.after = s.after;
    const session_log whole = sc.check(*s2c, s.expected);
    CHECK(whole.written == written);

    const session_log as_recorded = replay_chunks(s, recorded, *s2c, nlohmann::json::parse(*chunks));
    CHECK(as_recorded.events == s.expected);
    CHECK(as_recorded.written == written);
}

}  // namespace

TEST_CASE("qtest corpus: qt_01_basic, every command once; the CRLF line is refused, its reply dropped") {
    session s;
    s.name = "qt_01_basic";
    s.steps = {
        {[](C& c) { return c.endianness(); }},
        {[](C& c) { return c.clock_step_next(); }},
        {[](C& c) { return c.clock_step(1000ns); }},
        {[](C& c) { return c.clock_set(5s); }},
        {[](C& c) { return c.writel(0x100000, 0xdeadbeef); }},
        {[](C& c) { return c.readl(0x100000); }},
        {[](C& c) { return c.readb(0x100000); }},
        {[](C& c) { return c.readw(0x100000); }},
        {[](C& c) { return c.readq(0x100000); }},
        {[](C& c) { return c.writeq(0x100008, 0x0123456789abcdef); }, "writeq 0x100008 0x123456789abcdef"},
        {[](C& c) { return c.readq(0x100008); }},
        {[](C& c) { return c.read(0x100000, 16); }},
        {[](C& c) {
            return c.write(0x100010, qtest::bytes{1, 2, 3, 4});
        }},
        {[](C& c) { return c.read(0x100010, 4); }},
        {[](C& c) { return c.b64read(0x100010, 4); }},
        {[](C& c) {
            return c.b64write(0x100020, qtest::bytes{1, 2, 3});
        }},
        {[](C& c) { return c.read(0x100020, 3); }},
        {[](C& c) { return c.memset(0x100030, 4, 0xab); }},
        {[](C& c) { return c.read(0x100030, 4); }},
        {[](C& c) { return c.readl(0xfffffff0); }},
        {[](C& c) { return c.outb(0x70, 0x0b); }, "outb 0x70 0xb"},
        {[](C& c) { return c.inb(0x71); }},
        {[](C& c) { return c.inw(0x71); }},
        {[](C& c) { return c.inl(0xcf8); }},
        {[](C& c) { return c.raw("foo"); }},
        {[](C& c) { return c.raw("foo bar baz"); }},
        {[](C& c) { return c.set_irq_in("nosuchdev", qtest::unnamed_gpio_in, 5, 0); }},
        {[](C& c) { return c.module_load("accel", "tcg"); }},
        {[](C& c) { return c.writel(0x100000, 0x1); }},
        {[](C& c) { return c.readl(0x100000); }},
        {[](C& c) { return c.readw(0x100000); }},
        {[](C& c) { return c.raw("endianness\r"); }, {}, true},
    };
    s.expected = {
        "reply 0 little",
        "fail 1 Unknown command 'clock_step'",  // no qtest accelerator on Debian's build
        "fail 2 Unknown command 'clock_step'",
        "fail 3 Unknown command 'clock_set'",
        "reply 4 OK",
        "reply 5 0xdeadbeef",
        "reply 6 0xef",
        "reply 7 0xbeef",
        "reply 8 0xdeadbeef",
        "reply 9 OK",
        "reply 10 0x123456789abcdef",
        "reply 11 bytes efbeadde00000000efcdab8967452301",
        "reply 12 OK",
        "reply 13 bytes 01020304",
        "reply 14 bytes 01020304",
        "reply 15 OK",
        "reply 16 bytes 010203",
        "reply 17 OK",
        "reply 18 bytes abababab",
        "reply 19 0xe05bea",
        "reply 20 OK",
        "reply 21 0x2",
        "reply 22 0xff02",
        "reply 23 0x0",
        "fail 24 Unknown command 'foo'",
        "fail 25 Unknown command 'foo'",
        "fail 26 Unknown device",
        "fail 27",
        "reply 28 OK",
        "reply 29 0x1",
        "reply 30 0x1",
        // The reply to the line the client refused to send finds no command waiting.
        "violation unknown_reply_id",
    };
    s.after = [](C& c) {
        CHECK(c.is_open());
        CHECK(c.violations() == 1);
        CHECK(c.unanswered() == 0);
    };
    replay(s);
}

TEST_CASE("qtest corpus: qt_02_irq_sync_and_rtc, IRQ lines before, after and between replies") {
    session s;
    s.name = "qt_02_irq_sync_and_rtc";
    s.steps = {
        {[](C& c) { return c.irq_intercept_in("ioapic"); }},
        {[](C& c) { return c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 5, 1); }},
        {[](C& c) { return c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 5, 1); }},
        {[](C& c) { return c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 5, 0); }},
        {[](C& c) { return c.outb(0x70, 0x0b); }, "outb 0x70 0xb"},  // RTC register B
        {[](C& c) { return c.outb(0x71, 0x42); }},                   // periodic interrupt on
        {[](C& c) { return c.outb(0x70, 0x0c); }, "outb 0x70 0xc"},  // register C
        {[](C& c) { return c.inb(0x71); }},                          // reading it lowers IRQ 8
        {[](C& c) { return c.outb(0x70, 0x0b); }, "outb 0x70 0xb"},
        {[](C& c) { return c.outb(0x71, 0x02); }, "outb 0x71 0x2"},  // periodic interrupt off
        {[](C& c) { return c.outb(0x70, 0x0c); }, "outb 0x70 0xc"},
        {[](C& c) { return c.inb(0x71); }},
        {[](C& c) { return c.irq_intercept_in("ioapic"); }},  // the same device again: OK
        {[](C& c) { return c.irq_intercept_out("ioapic"); }},
    };
    s.expected = {
        "reply 0 OK",  "irq raise 5", "reply 1 OK",  "reply 2 OK",    "irq lower 5",  "reply 3 OK",  "reply 4 OK",
        "reply 5 OK",  "irq raise 8", "reply 6 OK",  "irq lower 8",   "reply 7 0xd0", "irq raise 8", "reply 8 OK",
        "irq lower 8", "reply 9 OK",  "reply 10 OK", "reply 11 0x40", "reply 12 OK",  "reply 13 OK",
    };
    s.after = [](C& c) {
        CHECK(c.irq_levels() == std::map<std::uint32_t, bool>{{5, false}, {8, false}});
        CHECK(c.violations() == 0);
    };
    replay(s);
}

TEST_CASE("qtest corpus: qt_02, the level of IRQ 8 as the session goes") {
    const auto s2c = qwire::test::corpus_file("qtest/qt_02_irq_sync_and_rtc.s2c");
    if (!s2c) QWIRE_SKIP("no corpus");
    C c;
    std::vector<bool> levels;
    for (const auto& line : lines_of(*s2c)) {
        if (!line.starts_with("IRQ")) REQUIRE(c.raw("x"));  // something for each reply to answer
        REQUIRE(c.receive(line));
        levels.push_back(c.irq_raised(8));
    }
    CHECK(levels == std::vector<bool>{false, false, false, false, false, false, false, false, true,  true,
                                      false, false, true,  true,  false, false, false, false, false, false});
}

TEST_CASE("qtest corpus: qt_03_irq_async_running, unsolicited PIT IRQs while the guest runs") {
    session s;
    s.name = "qt_03_irq_async_running";
    s.steps = {
        {[](C& c) { return c.irq_intercept_in("ioapic"); }},
        {[](C& c) { return c.readl(0xfffffff0); }},
        {[](C& c) { return c.readb(0x0); }},
    };
    // The recording interleaves 80 IRQ 0 lines with the three replies; expected events follow it
    // line for line.
    const auto s2c = qwire::test::corpus_file("qtest/qt_03_irq_async_running.s2c");
    if (!s2c) QWIRE_SKIP("no corpus");
    const std::map<std::string, std::string> replies = {{"OK\n", "reply 0 OK"},
                                                        {"OK 0x0000000000e05bea\n", "reply 1 0xe05bea"},
                                                        {"OK 0x0000000000000053\n", "reply 2 0x53"}};
    std::size_t irqs = 0;
    for (const auto& line : lines_of(*s2c)) {
        if (line == "IRQ raise 0\n" || line == "IRQ lower 0\n") {
            s.expected.push_back(line == "IRQ raise 0\n" ? "irq raise 0" : "irq lower 0");
            ++irqs;
        } else {
            s.expected.push_back(replies.at(line));
        }
    }
    CHECK(irqs == 81);
    s.after = [](C& c) {
        CHECK(c.irq_raised(0));  // the recording stops after a raise
        CHECK(c.events_dropped() == 0);
    };
    replay(s);
}
