// qwire::sync_qtest and the qtest epoll connection against a real QEMU started with -qtest.
#include "qwire/sync_qtest.hpp"

#include "../epoll/loop_runner.hpp"
#include "qemu_testing.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::sync_qtest;

TEST_CASE("sync qtest: memory round trips at every width, port I/O and typed errors") {
    QWIRE_START_PEER(qemu, "qemu-system-x86_64", qwire::test::qemu_process::start_qtest(false, qemu_why_not));
    auto qt = sync_qtest::connect(qemu->socket_path(), 10s);
    REQUIRE(qt);
    REQUIRE(qt->writeb(0x1000, 0xab));
    CHECK(qt->readb(0x1000).value() == 0xab);
    REQUIRE(qt->writew(0x1010, 0xbeef));
    CHECK(qt->readw(0x1010).value() == 0xbeef);
    REQUIRE(qt->writel(0x1020, 0xdeadbeef));
    CHECK(qt->readl(0x1020).value() == 0xdeadbeef);
    REQUIRE(qt->writeq(0x1030, 0x0123456789abcdefULL));
    CHECK(qt->readq(0x1030).value() == 0x0123456789abcdefULL);
    const std::vector<std::uint8_t> data = {1, 2, 3, 250, 0, 7};
    REQUIRE(qt->write(0x2000, data));
    CHECK(qt->read(0x2000, data.size()).value() == data);
    // Little-endian: the low byte of the word written above comes first.
    CHECK(qt->readb(0x1020).value() == 0xef);

    // The RTC through ports 0x70/0x71: register 0x0b (status B) reads back what we write.
    REQUIRE(qt->outb(0x70, 0x0b));
    const auto status_b = qt->inb(0x71).value();
    CHECK(status_b <= 0xff);

    auto unknown = qt->call([](qwire::qtest::client& c, qwire::qtest::exec_options o) { return c.raw("no_such_cmd", o); });
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code() == errc::command_failed);
    CHECK(unknown.error().detail().find("Unknown command") != std::string::npos);
    // Refused before sending: QEMU would abort on it.
    auto empty_read = qt->read(0x2000, 0);
    REQUIRE_FALSE(empty_read);
    CHECK(empty_read.error().code() == errc::invalid_argument);
    CHECK(qt->readl(0x1020).value() == 0xdeadbeef);  // and the session goes on
}

TEST_CASE("sync qtest: irq_intercept_in ioapic and set_irq_in show IRQ events and levels") {
    QWIRE_START_PEER(qemu, "qemu-system-x86_64", qwire::test::qemu_process::start_qtest(false, qemu_why_not));
    auto qt = sync_qtest::connect(qemu->socket_path(), 10s);
    REQUIRE(qt);
    REQUIRE(qt->irq_intercept_in("ioapic"));
    REQUIRE(qt->set_irq_in("ioapic", "unnamed-gpio-in", 5, 1));
    auto raised = qt->wait_irq(2s);
    REQUIRE(raised);
    CHECK(raised->line == 5);
    CHECK(raised->raised);
    CHECK(qt->client().irq_raised(5));
    REQUIRE(qt->set_irq_in("ioapic", "unnamed-gpio-in", 5, 0));
    auto lowered = qt->wait_irq(2s);
    REQUIRE(lowered);
    CHECK_FALSE(lowered->raised);
    CHECK_FALSE(qt->client().irq_raised(5));
}

TEST_CASE("qtest over epoll: 1000 pipelined readl, and unsolicited PIT IRQs from a running guest") {
    SECTION("1000 pipelined readl") {
        QWIRE_START_PEER(qemu, "qemu-system-x86_64", qwire::test::qemu_process::start_qtest(false, qemu_why_not));
        auto loop = qwire::epoll::loop::create().value();
        std::size_t replies = 0, others = 0;
        auto conn = qwire::epoll::connection<qwire::qtest::client>::connect(
                        loop, *qwire::epoll::endpoint::parse(qemu->socket_path()), {},
                        [&](auto&, qwire::qtest::client_event& e) {
                            if (auto* r = std::get_if<qwire::qtest::reply>(&e)) {
                                const auto* v = std::get_if<std::uint64_t>(&r->value);
                                replies += v != nullptr && *v == 0x11223344;  // the writel's reply holds no value
                            } else {
                                ++others;
                            }
                        })
                        .value();
        REQUIRE(conn->submit([](auto& c) { return c.writel(0x3000, 0x11223344); }));
        for (int i = 0; i < 1000; ++i) REQUIRE(conn->submit([](auto& c) { return c.readl(0x3000); }));
        REQUIRE(qwire::test::run_until(loop, [&] { return replies == 1000 || others > 1; }, 30s));
        CHECK(replies == 1000);
    }
    SECTION("a running guest's PIT raises and lowers IRQ 0 unasked") {
        QWIRE_START_PEER(qemu, "qemu-system-x86_64", qwire::test::qemu_process::start_qtest(true, qemu_why_not));
        auto qt = sync_qtest::connect(qemu->socket_path(), 10s);
        REQUIRE(qt);
        REQUIRE(qt->irq_intercept_in("ioapic"));
        bool raise0 = false, lower0 = false;
        for (int i = 0; i < 200 && !(raise0 && lower0); ++i) {
            auto irq = qt->wait_irq(5s);
            REQUIRE(irq);
            if (irq->line == 0) (irq->raised ? raise0 : lower0) = true;
        }
        CHECK(raise0);
        CHECK(lower0);
    }
}
