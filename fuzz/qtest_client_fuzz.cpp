// qtest::client driven by operations read from the input: typed commands, raw lines, cancel,
// raw bytes or well-formed reply lines (OK with the values each command expects, FAIL, IRQ),
// EOF, time passing, partial writes, close. Checks: client_checker's, and every line the
// client writes is one QEMU cannot abort on (non-empty, LF-terminated, printable, single
// spaces between words).
//
// Every input runs twice, raw bytes arriving whole and cut in two: the events must be the same.
//
// Input: an options byte, then operations of one byte each followed by their operands.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client_checker.hpp"
#include "fuzz_support.hpp"
#include "qwire/qtest/client.hpp"

namespace {

using qwire::fuzz::input;
using qtest_checker = qwire::fuzz::client_checker<qwire::qtest::client, qwire::qtest::irq>;
using std::chrono::milliseconds;

// Each complete line written must be a well-formed qtest command.
qtest_checker::output_check qtest_lines() {
    return [line = std::make_shared<std::string>()](std::string_view bytes) {
        for (char ch : bytes) {
            if (ch != '\n') {
                line->push_back(ch);
                continue;
            }
            FUZZ_CHECK(!line->empty());
            FUZZ_CHECK(line->front() != ' ' && line->back() != ' ');
            FUZZ_CHECK(line->find("  ") == std::string::npos);
            for (char c : *line) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
            line->clear();
        }
    };
}

qwire::qtest::client_options options_from(std::uint8_t flags) {
    qwire::qtest::client_options o;
    if (flags & 0x01) o.on_event_overflow = qwire::overflow_policy::drop_newest;
    o.max_undelivered_events = (flags & 0x02) ? 2 : 10000;
    if (flags & 0x04) o.max_irq_lines = 3;
    if (flags & 0x08) o.max_queued_commands = 3;
    if (flags & 0x10) o.max_output_bytes = 64;
    if (flags & 0x20) o.command_timeout = milliseconds(100);
    if (flags & 0x40) o.max_line_bytes = 64;
    return o;
}

void command(input& in, qtest_checker& c, qwire::time_point now) {
    qwire::qtest::exec_options o;
    o.now = now;
    auto& q = c.client();
    const std::uint8_t pick = in.byte();
    if (pick & 0x80) o.timeout = milliseconds(in.byte());
    const std::uint64_t addr = in.u16();
    const std::string text(in.short_string(16));
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    switch (pick % 14) {
    case 0: c.issue([&] { return q.readb(addr, o); }); break;
    case 1: c.issue([&] { return q.readl(addr, o); }); break;
    case 2: c.issue([&] { return q.readq(addr, o); }); break;
    case 3: c.issue([&] { return q.inw(static_cast<std::uint16_t>(addr), o); }); break;
    case 4: c.issue([&] { return q.writel(addr, 0xdeadbeef, o); }); break;
    case 5: c.issue([&] { return q.read(addr, text.size(), o); }); break;
    case 6: c.issue([&] { return q.b64read(addr, text.size(), o); }); break;
    case 7: c.issue([&] { return q.write(addr, bytes, o); }); break;
    case 8: c.issue([&] { return q.b64write(addr, bytes, o); }); break;
    case 9: c.issue([&] { return q.endianness(o); }); break;
    case 10: c.issue([&] { return q.clock_step(std::chrono::nanoseconds(addr), o); }); break;
    case 11: c.issue([&] { return q.irq_intercept_in(text, o); }); break;
    case 12: c.issue([&] { return q.set_irq_in(text, "gpio", static_cast<int>(addr), pick & 1, o); }); break;
    default: c.issue([&] { return q.raw(text, o); }); break;
    }
}

// A well-formed line QEMU could send.
std::string line(input& in) {
    const std::uint8_t pick = in.byte();
    switch (pick % 12) {
    case 0: return "OK\n";
    case 1: return "OK 0x00000000deadbeef\n";
    case 2: return "OK 0x00ff\n";
    case 3: return "OK 0x" + std::string(2 * (pick % 5), 'a') + "\n";
    case 4: return "OK aGVsbG8=\n";
    case 5: return "OK little\n";
    case 6: return "OK 1000\n";
    case 7: return "FAIL Unknown command 'x'\n";
    case 8: return "FAIL\n";
    case 9: return "IRQ raise " + std::to_string(in.byte()) + "\n";
    case 10: return "IRQ lower " + std::to_string(in.byte()) + "\n";
    default: return "ERR invalid argument size\n";
    }
}

// Runs the operations; with `split`, raw bytes arrive in two receive() calls instead of one.
std::vector<qtest_checker::event> run(const std::uint8_t* data, std::size_t size, bool split) {
    input in(data, size);
    qwire::time_point now{std::chrono::seconds(1000)};
    qtest_checker c(options_from(in.byte()), qtest_lines());
    while (!in.empty()) {
        const unsigned op = in.byte() % 11;
        switch (op) {
        case 0: command(in, c, now); break;
        case 1: c.cancel(c.pick_open(in.byte())); break;
        case 2: c.receive_maybe_split(in.short_string(64), split); break;
        case 3: c.receive(line(in)); break;
        case 4: c.receive_eof(); break;
        default: c.common_op(op - 5, in, now); break;
        }
    }
    c.finish();
    return c.events();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // How raw bytes are cut must not matter.
    FUZZ_CHECK(qwire::fuzz::same_events(run(data, size, false), run(data, size, true)));
    return 0;
}
