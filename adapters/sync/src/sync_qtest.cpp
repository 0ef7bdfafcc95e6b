#include "qwire/sync_qtest.hpp"

#include "blocking.hpp"

namespace qwire {
namespace {

constexpr duration call_timeout = std::chrono::seconds(30);

template <class T>
tl::expected<T, error> as(tl::expected<qtest::reply_value, error> r) {
    if (!r) return tl::unexpected(r.error());
    if (auto* v = std::get_if<T>(&*r)) return std::move(*v);
    return tl::unexpected(error(errc::unexpected_message, "the reply holds another kind of value"));
}

tl::expected<void, error> done(tl::expected<qtest::reply_value, error> r) {
    if (!r) return tl::unexpected(r.error());
    return {};
}

qtest::exec_options until(time_point deadline) {
    qtest::exec_options o;
    o.deadline = deadline;
    return o;
}

}  // namespace

sync_qtest::sync_qtest(std::unique_ptr<blocking> b) : impl_(std::move(b)) {}
sync_qtest::sync_qtest(sync_qtest&&) noexcept = default;
sync_qtest& sync_qtest::operator=(sync_qtest&&) noexcept = default;
sync_qtest::~sync_qtest() = default;

tl::expected<sync_qtest, error> sync_qtest::connect(std::string_view where, duration timeout, options_type options) {
    auto b = blocking::open(where, timeout, std::move(options), [](auto& conn) { return conn.is_ready(); });
    if (!b) return tl::unexpected(b.error());
    return sync_qtest(std::move(*b));
}

const qtest::client& sync_qtest::client() const { return impl_->conn().client(); }
bool sync_qtest::is_connected() const { return !impl_->ended(); }

tl::expected<qtest::reply_value, error> sync_qtest::run(
    const std::function<tl::expected<request_id, error>(qtest::client&, qtest::exec_options)>& f, duration timeout) {
    auto e = impl_->call([&](qtest::client& c, time_point deadline) { return f(c, until(deadline)); }, timeout);
    if (!e) return tl::unexpected(e.error());
    if (auto* fail = std::get_if<qtest::error_reply>(&*e)) return tl::unexpected(error::from_reply(fail->err ? "ERR" : "FAIL", fail->message));
    return std::get<qtest::reply>(std::move(*e)).value;
}

#define QWIRE_READ(name)                                                                            \
    tl::expected<std::uint64_t, error> sync_qtest::name(std::uint64_t addr) {                       \
        return as<std::uint64_t>(run([&](qtest::client& c, qtest::exec_options o) { return c.name(addr, o); }, \
                                     call_timeout));                                                 \
    }
QWIRE_READ(readb)
QWIRE_READ(readw)
QWIRE_READ(readl)
QWIRE_READ(readq)
#undef QWIRE_READ

#define QWIRE_WRITE(name, type)                                                                      \
    tl::expected<void, error> sync_qtest::name(std::uint64_t addr, type value) {                     \
        return done(run([&](qtest::client& c, qtest::exec_options o) { return c.name(addr, value, o); }, \
                        call_timeout));                                                               \
    }
QWIRE_WRITE(writeb, std::uint8_t)
QWIRE_WRITE(writew, std::uint16_t)
QWIRE_WRITE(writel, std::uint32_t)
QWIRE_WRITE(writeq, std::uint64_t)
#undef QWIRE_WRITE

tl::expected<std::uint64_t, error> sync_qtest::inb(std::uint16_t port) {
    return as<std::uint64_t>(run([&](qtest::client& c, qtest::exec_options o) { return c.inb(port, o); }, call_timeout));
}

tl::expected<void, error> sync_qtest::outb(std::uint16_t port, std::uint8_t value) {
    return done(run([&](qtest::client& c, qtest::exec_options o) { return c.outb(port, value, o); }, call_timeout));
}

tl::expected<qtest::bytes, error> sync_qtest::read(std::uint64_t addr, std::uint64_t size) {
    return as<qtest::bytes>(run([&](qtest::client& c, qtest::exec_options o) { return c.read(addr, size, o); }, call_timeout));
}

tl::expected<void, error> sync_qtest::write(std::uint64_t addr, std::span<const std::uint8_t> data) {
    return done(run([&](qtest::client& c, qtest::exec_options o) { return c.write(addr, data, o); }, call_timeout));
}

tl::expected<void, error> sync_qtest::irq_intercept_in(std::string_view device) {
    return done(run([&](qtest::client& c, qtest::exec_options o) { return c.irq_intercept_in(device, o); }, call_timeout));
}

tl::expected<void, error> sync_qtest::set_irq_in(std::string_view device, std::string_view name, int num, int level) {
    return done(run([&](qtest::client& c, qtest::exec_options o) { return c.set_irq_in(device, name, num, level, o); },
                    call_timeout));
}

std::vector<qtest::irq> sync_qtest::irqs() {
    std::vector<qtest::irq> out;
    for (auto& e : impl_->others()) {
        if (auto* i = std::get_if<qtest::irq>(&e)) out.push_back(*i);
    }
    impl_->others().clear();
    return out;
}

tl::expected<qtest::irq, error> sync_qtest::wait_irq(duration timeout) {
    auto take = [&]() -> std::optional<qtest::irq> {
        auto& others = impl_->others();
        for (auto it = others.begin(); it != others.end(); ++it) {
            if (auto* i = std::get_if<qtest::irq>(&*it)) {
                qtest::irq found = *i;
                others.erase(it);
                return found;
            }
        }
        return std::nullopt;
    };
    std::optional<qtest::irq> found = take();
    if (!found) {
        impl_->run_until(epoll::loop::now() + timeout, [&] {
            found = take();
            return found.has_value() || impl_->ended().has_value();
        });
    }
    if (found) return *found;
    if (impl_->ended()) return tl::unexpected(*impl_->ended());
    return tl::unexpected(error(errc::timed_out, "no IRQ line"));
}

}  // namespace qwire
