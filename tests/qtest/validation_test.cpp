// Commands are checked before anything is queued: QEMU 7.2 g_asserts (and so aborts, taking the
// guest with it) on lines it cannot parse. Each refusal is invalid_argument, leaves nothing
// written and nothing pending, and the client goes on.
#include <chrono>

#include "qtest_harness.hpp"

using qwire::errc;
using qwire::test::drain_output;
using qwire::test::refused;
using qwire::test::sent;
namespace qtest = qwire::qtest;
using namespace std::string_literals;

namespace {

// Requires `call` to be refused with invalid_argument and to change nothing.
template <class Call>
void check_refused(Call&& call, const std::string& what) {
    INFO(what);
    qtest::client c;
    refused(call(c), errc::invalid_argument);
    CHECK(c.pending_output().bytes.empty());
    CHECK(c.pending_requests() == 0);
    CHECK(c.unanswered() == 0);
    CHECK(c.is_open());
    CHECK_FALSE(c.next_event());
    CHECK(sent(c.endianness()) == 0);  // the client goes on, ids unspent
}

}  // namespace

TEST_CASE("qtest validation: raw lines QEMU would abort on, or read differently, are refused") {
    const std::vector<std::string> lines = {
        // The line itself.
        "",
        "endianness\r",
        "readl 0x0\n",
        "readl 0x0\nreadl 0x4",
        "readl\t0x0",
        "readl 0x0\x7f",
        "\x01"s,
        "readl 0x0\0"s,
        "\xff\xfe",
        "caf\xc3",
        " readl 0x0",
        "readl 0x0 ",
        "readl  0x0",
        " ",
        "readl 0x0\r",
        // Arguments QEMU g_asserts on: missing ones, numbers it cannot parse, out of range.
        "readl",
        "readl 0x0 0x4",
        "readl foo",
        "readl 0x",
        "readl 08",
        "readl -1",
        "readl +1",
        "readl 1.5",
        "readl 18446744073709551616",
        "readl 0x10000000000000000",
        "readl 0x1g",
        "writel 0x0",
        "writeq 0x0 x",
        "inb",
        "inb 0x10000",
        "inw 65536",
        "inl -1",
        "outb 0x70",
        "outb 0x70 0x1 0x2",
        "outl 0x10000 0x1",
        "irq_intercept_in",
        "irq_intercept_out",
        "set_irq_in ioapic unnamed-gpio-in 5",
        "set_irq_in ioapic unnamed-gpio-in -1 0",
        "set_irq_in ioapic unnamed-gpio-in 5 2147483648",
        "set_irq_in ioapic unnamed-gpio-in 5 -2147483649",
        "set_irq_in ioapic unnamed-gpio-in x 1",
        "clock_set",
        "clock_set 9223372036854775808",
        "clock_step 1 2",
        "clock_step x",
        "endianness now",
        "module_load accel",
        "module_load",
        // Sizes and data.
        "read 0x0",
        "read 0x0 0",
        "read 0x0 1048576000",
        "b64read 0x0 0",
        "b64read 0x0 18446744073709551615",
        "write 0x0 0 0x",
        "write 0x0 2 0x01",
        "write 0x0 1 01",
        "write 0x0 1 0x0g",
        "write 0x0 1 0x1",
        "write 0x0 1",
        "b64write 0x0 0 AQID",
        "b64write 0x0 2 AQID",
        "b64write 0x0 3 AQI",
        "b64write 0x0 1 AQ=",
        "b64write 0x0 1 *Q==",
        "memset 0x0 0 0xab",
        "memset 0x0 4",
        "memset 0x0 4 x",
    };
    for (const auto& line : lines) check_refused([&](qtest::client& c) { return c.raw(line); }, "raw: " + line);
}

TEST_CASE("qtest validation: the CRLF-terminated command of the corpus is refused") {
    const auto c2s = qwire::test::corpus_file("qtest/qt_01_basic.c2s");
    if (!c2s) QWIRE_SKIP("no corpus");
    const std::string last = c2s->substr(c2s->rfind('\n', c2s->size() - 2) + 1);
    REQUIRE(last == "endianness\r\n");
    qtest::client c;
    const std::string detail = refused(c.raw(last.substr(0, last.size() - 1)), errc::invalid_argument);
    CHECK(detail.find("carriage return") != std::string::npos);
    refused(c.raw(last), errc::invalid_argument);
}

TEST_CASE("qtest validation: raw lines QEMU parses are sent as they are") {
    const std::vector<std::string> lines = {
        "foo",
        "foo bar baz",
        "\xc3\xa9"
        "cho",
        "readl 010",
        "readl 0X1F",
        "readl 18446744073709551615",
        "readl 0",
        "inb 0xffff",
        "inb 65535",
        "outb 0x70 0xffffffffffffffff",
        "set_irq_in ioapic unnamed-gpio-in 0x5 -1",
        "set_irq_in /machine/x gpio 2147483647 -2147483648",
        "clock_step",
        "clock_step -5",
        "clock_set -9223372036854775808",
        "clock_set 0x10",
        "write 0x0 2 0x0A0b",
        "b64write 0x0 1 AQ==",
        "b64write 0x0 2 AQI=",
        "memset 0x0 1 0",
        "read 0x0 1",
        "b64read 0x0 1",
        "endianness",
        "module_load accel tcg",
        "irq_intercept_in ioapic",
    };
    qtest::client c;
    std::string expected;
    for (const auto& line : lines) {
        INFO(line);
        sent(c.raw(line));
        expected += line + "\n";
    }
    CHECK(drain_output(c) == expected);
}

TEST_CASE("qtest validation: typed commands refuse what QEMU would abort on") {
    using C = qtest::client;
    const qtest::bytes none;
    const std::vector<std::pair<std::string, std::function<tl::expected<qwire::request_id, qwire::error>(C&)>>> calls =
        {
            {"read of 0 bytes", [](C& c) { return c.read(0x1000, 0); }},
            {"b64read of 0 bytes", [](C& c) { return c.b64read(0x1000, 0); }},
            {"write of no data", [&](C& c) { return c.write(0x1000, none); }},
            {"b64write of no data", [&](C& c) { return c.b64write(0x1000, none); }},
            {"memset of 0 bytes", [](C& c) { return c.memset(0x1000, 0, 0xab); }},
            {"read of more than a reply line holds", [](C& c) { return c.read(0, std::uint64_t{1} << 62); }},
            {"an empty device", [](C& c) { return c.irq_intercept_in(""); }},
            {"a device with a space", [](C& c) { return c.irq_intercept_in("io apic"); }},
            {"a device with a line feed", [](C& c) { return c.irq_intercept_out("ioapic\nreadl 0x0"); }},
            {"a device with a CR", [](C& c) { return c.irq_intercept_out("ioapic\r"); }},
            {"a device of invalid UTF-8", [](C& c) { return c.irq_intercept_in("\xc0\xaf"); }},
            {"set_irq_in: an empty device", [](C& c) { return c.set_irq_in("", qtest::unnamed_gpio_in, 0, 1); }},
            {"set_irq_in: a list name with a space", [](C& c) { return c.set_irq_in("ioapic", "a b", 0, 1); }},
            {"set_irq_in: an empty list name", [](C& c) { return c.set_irq_in("ioapic", "", 0, 1); }},
            {"set_irq_in: a negative IRQ", [](C& c) { return c.set_irq_in("ioapic", qtest::unnamed_gpio_in, -1, 1); }},
            {"module_load: an empty prefix", [](C& c) { return c.module_load("", "tcg"); }},
            {"module_load: a name with a tab", [](C& c) { return c.module_load("accel", "t\tcg"); }},
        };
    for (const auto& [what, call] : calls) check_refused(call, what);
}

TEST_CASE("qtest validation: the extremes of every typed argument are accepted") {
    qtest::client c;
    const std::uint64_t most = ~std::uint64_t{0};
    sent(c.readq(most));
    sent(c.writeq(most, most));
    sent(c.inl(0xffff));
    sent(c.outl(0xffff, 0xffffffff));
    sent(c.set_irq_in("ioapic", qtest::unnamed_gpio_in, 2147483647, -2147483648));
    sent(c.clock_step(std::chrono::nanoseconds::min()));
    sent(c.clock_set(std::chrono::nanoseconds::max()));
    sent(c.memset(most, most, 0));
    sent(c.read(0, 1));
    sent(c.b64read(0, 1));
    CHECK(drain_output(c) ==
          "readq 0xffffffffffffffff\nwriteq 0xffffffffffffffff 0xffffffffffffffff\ninl 0xffff\n"
          "outl 0xffff 0xffffffff\nset_irq_in ioapic unnamed-gpio-in 2147483647 -2147483648\n"
          "clock_step -9223372036854775808\nclock_set 9223372036854775807\n"
          "memset 0xffffffffffffffff 18446744073709551615 0x0\nread 0x0 1\nb64read 0x0 1\n");
}

TEST_CASE("qtest validation: a timeout without the current time is refused") {
    qtest::client_options options;
    options.command_timeout = std::chrono::seconds(1);
    qtest::client c(options);
    const std::string detail = refused(c.readl(0), errc::invalid_argument);
    CHECK(detail.find("now") != std::string::npos);
    qtest::exec_options relative;
    relative.timeout = std::chrono::seconds(2);
    refused(qtest::client().readl(0, relative), errc::invalid_argument);
    CHECK(c.pending_output().bytes.empty());
}
