/// \file
/// \brief A blocking qtest client for device tests.
///
/// Each call writes one validated qtest command and waits for its reply on a private epoll loop.
/// IRQ lines that arrive meanwhile are kept, in order, for irqs(); the current level of every
/// line seen is in client().irq_levels().
///
///     auto qt = qwire::sync_qtest::connect(dir + "/qtest.sock").value();
///     qt.writel(0x1000, 0xdeadbeef).value();
///     assert(qt.readl(0x1000).value() == 0xdeadbeef);
///
/// Errors: invalid_argument (a command QEMU would abort on, refused before sending);
/// command_failed for a FAIL reply (detail() holds QEMU's message); timed_out; invalid_state or
/// the disconnect reason once the session is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "qwire/export.hpp"
#include "qwire/epoll/connection.hpp"
#include "qwire/qtest/client.hpp"

namespace qwire {

namespace sync_detail {
template <class Client>
class blocking;
}

/// A blocking qtest client (see the file comment). Not thread-safe; movable.
class QWIRE_API sync_qtest {
public:
    using options_type = epoll::basic_connection_options<qtest::client_options>;  ///< limits and timeouts

    /// Connects to QEMU's `-qtest unix:PATH` (or HOST:PORT) socket.
    [[nodiscard]] static tl::expected<sync_qtest, error> connect(std::string_view where,
                                                                 duration timeout = std::chrono::seconds(10),
                                                                 options_type options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    sync_qtest(sync_qtest&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    sync_qtest& operator=(sync_qtest&&) noexcept;
    ~sync_qtest();

    // Getters.
    /// The protocol client: irq_levels(), counters.
    [[nodiscard]] const qtest::client& client() const;
    /// False once the session has ended (then every call returns invalid_state).
    [[nodiscard]] bool is_connected() const;

    // Commands; each waits up to 30 s for its reply (call() takes a timeout).
    /// One byte of guest memory at `addr`.
    tl::expected<std::uint64_t, error> readb(std::uint64_t addr);
    /// The same, 16 bits wide.
    tl::expected<std::uint64_t, error> readw(std::uint64_t addr);
    /// The same, 32 bits wide.
    tl::expected<std::uint64_t, error> readl(std::uint64_t addr);
    /// The same, 64 bits wide.
    tl::expected<std::uint64_t, error> readq(std::uint64_t addr);
    /// Writes one byte of guest memory at `addr`.
    tl::expected<void, error> writeb(std::uint64_t addr, std::uint8_t value);
    /// The same, 16 bits wide.
    tl::expected<void, error> writew(std::uint64_t addr, std::uint16_t value);
    /// The same, 32 bits wide.
    tl::expected<void, error> writel(std::uint64_t addr, std::uint32_t value);
    /// The same, 64 bits wide.
    tl::expected<void, error> writeq(std::uint64_t addr, std::uint64_t value);
    /// One byte from I/O port `port`.
    tl::expected<std::uint64_t, error> inb(std::uint16_t port);
    /// Writes one byte to I/O port `port`.
    tl::expected<void, error> outb(std::uint16_t port, std::uint8_t value);
    /// `size` bytes of guest memory. invalid_argument: size 0.
    tl::expected<qtest::bytes, error> read(std::uint64_t addr, std::uint64_t size);
    /// Writes `data` to guest memory. invalid_argument: empty data.
    tl::expected<void, error> write(std::uint64_t addr, std::span<const std::uint8_t> data);
    /// Intercepts the unnamed GPIO inputs of the device at QOM path `device`; their changes
    /// then arrive for irqs() and wait_irq(). See qtest::client::irq_intercept_in().
    tl::expected<void, error> irq_intercept_in(std::string_view device);
    /// Sets input `num` of the device's GPIO list `name` to `level`. See
    /// qtest::client::set_irq_in().
    tl::expected<void, error> set_irq_in(std::string_view device, std::string_view name, int num, int level);
    /// Any command: `f(client, options)` issues it (options carry the deadline); returns the
    /// reply's typed value.
    template <class F>
    tl::expected<qtest::reply_value, error> call(F&& f, duration timeout = std::chrono::seconds(30));

    /// Takes the IRQ lines received so far, in order.
    std::vector<qtest::irq> irqs();
    /// Waits for the next IRQ line event (already received ones first).
    tl::expected<qtest::irq, error> wait_irq(duration timeout);

private:
    using blocking = sync_detail::blocking<qtest::client>;
    explicit sync_qtest(std::unique_ptr<blocking> b);
    tl::expected<qtest::reply_value, error> run(
        const std::function<tl::expected<request_id, error>(qtest::client&, qtest::exec_options)>& f, duration timeout);
    std::unique_ptr<blocking> impl_;
};

template <class F>
tl::expected<qtest::reply_value, error> sync_qtest::call(F&& f, duration timeout) {
    return run(std::forward<F>(f), timeout);
}

}  // namespace qwire
