// qwire::qtest::client against a hostile or broken server. qtest has no ids: a line that is not
// a well-formed OK, FAIL, ERR or IRQ line, or an OK that cannot be the answer to the command
// waiting for it, means replies and commands are out of step, so each is fatal. Every stream
// runs whole, byte by byte and at every two-piece split, and must end in exactly the events
// listed: what came before the fault, each pending command failed with connection_lost in
// command order, then one disconnect naming the fault. Nothing after the fault is delivered.
#include <chrono>
#include <functional>
#include <memory>

#include "qtest_harness.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using qwire::errc;
using qwire::test::qtest_scenario;
using qwire::test::sent;
namespace qtest = qwire::qtest;
using strings = std::vector<std::string>;

namespace {

// Valid traffic a server might send after the hostile bytes: never delivered.
constexpr std::string_view valid_tail = "OK\nIRQ raise 4\nOK 0x0000000000000001\n";
const std::string refused = "receive refused: invalid_state";

// Checks a stream whose LAST byte must end the session: every split gives `expected`; then
// the client is closing, owes nothing, counted one violation, wants no write and no timer;
// bytes after the fault in the same piece are ignored, in later pieces refused.
void check_fatal(qtest_scenario s, const std::string& stream, const strings& expected) {
    using qwire::test::cut_every;
    using qwire::test::pieces;
    auto findings = std::make_shared<std::string>();
    s.after = [after = s.after, findings](qtest::client& c) {
        after(c);
        const auto note = [&](bool ok, const char* what) {
            if (!ok) *findings += std::string(" ") + what + ";";
        };
        note(c.state() == qtest::client_state::closing, "not closing");
        note(c.pending_requests() == 0 && c.unanswered() == 0, "commands still pending");
        note(c.violations() == 1, "violations() is not 1");
        note(!c.receive(valid_tail) && c.pending_output().bytes.empty(), "still open");
        note(!c.next_deadline(), "a deadline is armed");
    };
    const auto events_of = [&s, &findings](const pieces& p) {
        findings->clear();
        auto log = s.run(p);
        if (!findings->empty()) log.events.push_back("after the input:" + *findings);
        return log.events;
    };
    CHECK(events_of({stream}) == expected);
    qwire::test::check_every_split<strings>(stream, expected, events_of);

    const std::string joined = stream + std::string(valid_tail);
    CHECK(events_of({joined}) == expected);
    strings later_piece{refused};
    later_piece.insert(later_piece.end(), expected.begin(), expected.end());
    CHECK(events_of({stream, valid_tail}) == later_piece);
    strings byte_by_byte(valid_tail.size(), refused);
    byte_by_byte.insert(byte_by_byte.end(), expected.begin(), expected.end());
    CHECK(events_of(cut_every(joined, 1)) == byte_by_byte);
}

// The usual start: readl, writel and readb sent; readl answered, one IRQ raised. The hostile
// line comes where writel's bare OK is due.
qtest_scenario three_commands(qtest::client_options options = {}) {
    qtest_scenario s;
    s.options = std::move(options);
    s.before = [](qtest::client& c) {
        sent(c.readl(0x1000));
        sent(c.writel(0x1000, 1, qtest::exec_options{qwire::time_point{} + 1s, {}, {}}));
        sent(c.readb(0x1000));
    };
    return s;
}

const std::string head = "OK 0x00000000deadbeef\nIRQ raise 3\n";

strings usual_fatal(errc reason) {
    return {"reply 0 0xdeadbeef", "irq raise 3", "request_failed 1 connection_lost", "request_failed 2 connection_lost",
            "disconnect " + std::string(qwire::to_string(reason))};
}

struct hostile {
    const char* what;
    std::string line;
};

}  // namespace

TEST_CASE("qtest hostile: lines that are not OK, FAIL, ERR or IRQ are fatal (unexpected_message)") {
    const std::vector<hostile> lines = {
        {"an empty line", "\n"},
        {"a CR before the LF", "OK\r\n"},
        {"a lowercase ok", "ok\n"},
        {"OKAY", "OKAY\n"},
        {"FAILED", "FAILED\n"},
        {"ERROR", "ERROR: boom\n"},
        {"a leading space", " OK\n"},
        {"a NUL byte", "\0OK\n"s},
        {"a QMP greeting", "{\"QMP\": {\"version\": {}}}\n"},
        {"a bare word", "HELLO\n"},
        {"a tab after OK", "OK\t0x1\n"},
        {"invalid UTF-8", "\xff\xfe\n"},
    };
    for (const auto& h : lines) {
        DYNAMIC_SECTION(h.what) { check_fatal(three_commands(), head + h.line, usual_fatal(errc::unexpected_message)); }
    }
}

TEST_CASE("qtest hostile: malformed IRQ lines are fatal (unexpected_message)") {
    const std::vector<hostile> lines = {
        {"neither raise nor lower", "IRQ up 5\n"},
        {"no number", "IRQ raise\n"},
        {"an empty number", "IRQ raise \n"},
        {"not a number", "IRQ raise x\n"},
        {"a negative number", "IRQ lower -1\n"},
        {"a leading zero", "IRQ raise 05\n"},
        {"a plus sign", "IRQ raise +5\n"},
        {"beyond 32 bits", "IRQ raise 4294967296\n"},
        {"a word after the number", "IRQ raise 5 now\n"},
        {"a CR before the LF", "IRQ raise 5\r\n"},
        {"a double space", "IRQ  raise 5\n"},
        {"lowercase", "irq raise 5\n"},
    };
    for (const auto& h : lines) {
        DYNAMIC_SECTION(h.what) { check_fatal(three_commands(), head + h.line, usual_fatal(errc::unexpected_message)); }
    }
}

TEST_CASE("qtest hostile: an OK that cannot answer the waiting command is fatal (unexpected_message)") {
    using C = qtest::client;
    struct mismatch {
        const char* what;
        std::function<void(C&)> send;
        std::string reply;
    };
    const std::vector<mismatch> cases = {
        {"a value for writel", [](C& c) { sent(c.writel(0, 1)); }, "OK 0x0\n"},
        {"a space after a bare OK", [](C& c) { sent(c.writel(0, 1)); }, "OK \n"},
        {"a bare OK for readl", [](C& c) { sent(c.readl(0)); }, "OK\n"},
        {"endianness for readl", [](C& c) { sent(c.readl(0)); }, "OK little\n"},
        {"no 0x for readl", [](C& c) { sent(c.readl(0)); }, "OK 00000000deadbeef\n"},
        {"0x and no digits", [](C& c) { sent(c.readq(0)); }, "OK 0x\n"},
        {"17 hex digits", [](C& c) { sent(c.readq(0)); }, "OK 0x00000000000000000\n"},
        {"a non-hex digit", [](C& c) { sent(c.readq(0)); }, "OK 0x000000000000000g\n"},
        {"a sign", [](C& c) { sent(c.readq(0)); }, "OK 0x-1\n"},
        {"9 bits for readb", [](C& c) { sent(c.readb(0)); }, "OK 0x0000000000000100\n"},
        {"17 bits for readw", [](C& c) { sent(c.readw(0)); }, "OK 0x0000000000010000\n"},
        {"33 bits for readl", [](C& c) { sent(c.readl(0)); }, "OK 0x0000000100000000\n"},
        {"9 bits for inb", [](C& c) { sent(c.inb(0x71)); }, "OK 0x0100\n"},
        {"3 bytes for read of 4", [](C& c) { sent(c.read(0, 4)); }, "OK 0x010203\n"},
        {"5 bytes for read of 4", [](C& c) { sent(c.read(0, 4)); }, "OK 0x0102030405\n"},
        {"an odd digit count", [](C& c) { sent(c.read(0, 4)); }, "OK 0x010203040\n"},
        {"read without 0x", [](C& c) { sent(c.read(0, 4)); }, "OK 01020304\n"},
        {"read with a bad digit", [](C& c) { sent(c.read(0, 4)); }, "OK 0x0102030z\n"},
        {"base64 of 3 bytes for 4", [](C& c) { sent(c.b64read(0, 4)); }, "OK AQID\n"},
        {"base64 without padding", [](C& c) { sent(c.b64read(0, 4)); }, "OK AQIDBA\n"},
        {"base64 with a bad character", [](C& c) { sent(c.b64read(0, 4)); }, "OK AQID!A==\n"},
        {"a bare OK for b64read", [](C& c) { sent(c.b64read(0, 4)); }, "OK\n"},
        {"an unknown byte order", [](C& c) { sent(c.endianness()); }, "OK middle\n"},
        {"a bare OK for endianness", [](C& c) { sent(c.endianness()); }, "OK\n"},
        {"a clock with letters", [](C& c) { sent(c.clock_step_next()); }, "OK 12abc\n"},
        {"a clock in hex", [](C& c) { sent(c.clock_set(1ns)); }, "OK 0x10\n"},
        {"a clock beyond 64 bits", [](C& c) { sent(c.clock_step(1ns)); }, "OK 9223372036854775808\n"},
        {"a bare OK for a clock", [](C& c) { sent(c.clock_step(1ns)); }, "OK\n"},
    };
    for (const auto& m : cases) {
        DYNAMIC_SECTION(m.what) {
            qtest_scenario s;
            s.before = [&m](C& c) {
                m.send(c);
                sent(c.readl(4));
            };
            check_fatal(s, "IRQ lower 2\n" + m.reply,
                        {"irq lower 2", "request_failed 0 connection_lost", "request_failed 1 connection_lost",
                         "disconnect unexpected_message"});
        }
    }
}

TEST_CASE("qtest hostile: a line over max_line_bytes is fatal at the byte that breaks the limit") {
    qtest::client_options options;
    options.max_line_bytes = 64;
    SECTION("a long reply") {
        check_fatal(three_commands(options), head + "FAIL " + std::string(60, 'x'), usual_fatal(errc::frame_too_large));
    }
    SECTION("a long line of garbage with no LF") {
        check_fatal(three_commands(options), head + std::string(65, '\0'), usual_fatal(errc::frame_too_large));
    }
}

TEST_CASE("qtest hostile: more distinct IRQ lines than max_irq_lines is fatal") {
    qtest::client_options options;
    options.max_irq_lines = 2;
    qtest_scenario s = three_commands(options);
    s.after = [](qtest::client& c) { CHECK(c.irq_levels().size() == 2); };
    check_fatal(
        s, head + "IRQ raise 7\nIRQ lower 3\nIRQ raise 3\nIRQ raise 8\n",
        {"reply 0 0xdeadbeef", "irq raise 3", "irq raise 7", "irq lower 3", "irq raise 3",
         "request_failed 1 connection_lost", "request_failed 2 connection_lost", "disconnect unexpected_message"});
}

TEST_CASE("qtest hostile: an IRQ flood is bounded and every level stays right") {
    qtest::client_options options;
    options.max_undelivered_events = 100;
    qtest::client c(options);
    sent(c.readl(0));
    std::string flood;
    for (int i = 0; i < 100000; ++i)
        flood += "IRQ " + std::string(i % 2 == 0 ? "raise " : "lower ") + std::to_string(i % 256) + "\n";
    REQUIRE(c.receive(flood + "OK 0x0000000000000001\n"));
    CHECK(c.events_dropped() == 100000 - 100);
    std::size_t irqs = 0;
    std::string last;
    while (auto e = c.next_event()) {
        last = qwire::test::describe(*e);
        if (std::holds_alternative<qtest::irq>(*e)) ++irqs;
    }
    CHECK(irqs == 100);
    CHECK(last == "reply 0 0x1");
    CHECK(c.irq_levels().size() == 256);
    // Line n is touched by every i with i % 256 == n; 256 is even, so i is even exactly when n is.
    for (std::uint32_t n = 0; n < 256; ++n) CHECK(c.irq_raised(n) == (n % 2 == 0));
}
