#include "qwire/sync_qga.hpp"

#include "blocking.hpp"

namespace qwire {

sync_qga::sync_qga(std::unique_ptr<blocking> b) : impl_(std::move(b)) {}
sync_qga::sync_qga(sync_qga&&) noexcept = default;
sync_qga& sync_qga::operator=(sync_qga&&) noexcept = default;
sync_qga::~sync_qga() = default;

tl::expected<sync_qga, error> sync_qga::connect(std::string_view where, duration timeout, options_type options) {
    // The connection synchronises by itself on connect; ready means the sync completed.
    auto b = blocking::open(where, timeout, std::move(options), [](auto& conn) { return conn.is_ready(); });
    if (!b) return tl::unexpected(b.error());
    return sync_qga(std::move(*b));
}

const qga::client& sync_qga::client() const { return impl_->conn().client(); }
bool sync_qga::is_connected() const { return !impl_->ended(); }

tl::expected<nlohmann::json, error> sync_qga::execute(std::string_view command, nlohmann::json arguments,
                                                      duration timeout) {
    auto e = impl_->call(
        [&](qga::client& c, time_point deadline) {
            qga::exec_options o;
            o.deadline = deadline;
            return c.execute(command, std::move(arguments), o);
        },
        timeout);
    if (!e) return tl::unexpected(e.error());
    if (auto* r = std::get_if<qga::error_reply>(&*e)) return tl::unexpected(error::from_reply(r->error_class, r->desc));
    return std::get<qga::reply>(std::move(*e)).value;
}

tl::expected<void, error> sync_qga::execute_no_reply(std::string_view command, nlohmann::json arguments,
                                                     duration wait) {
    auto e = impl_->call(
        [&](qga::client& c, time_point deadline) {
            qga::exec_options o;
            o.deadline = deadline;
            o.expect_reply = false;
            return c.execute(command, std::move(arguments), o);
        },
        wait);
    if (!e) return tl::unexpected(e.error());
    if (auto* r = std::get_if<qga::error_reply>(&*e)) return tl::unexpected(error::from_reply(r->error_class, r->desc));
    return {};
}

tl::expected<void, error> sync_qga::sync(duration timeout) {
    auto e = impl_->call(
        [&](qga::client& c, time_point deadline) {
            qga::sync_options o;
            o.deadline = deadline;
            std::random_device random;
            return c.sync((std::uint64_t{random()} << 31 ^ random()) & 0x7fffffffffffffffULL, o);
        },
        timeout);
    if (!e) return tl::unexpected(e.error());
    return {};
}

}  // namespace qwire
