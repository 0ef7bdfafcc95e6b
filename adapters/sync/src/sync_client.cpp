#include "qwire/sync_client.hpp"

#include <deque>
#include <map>
#include <variant>

namespace qwire {

struct sync_client::impl {
    epoll::loop loop;
    std::unique_ptr<epoll::qmp_connection> conn;
    std::map<std::uint64_t, tl::expected<nlohmann::json, error>> outcomes;  // by request id
    std::deque<qmp::event> events;
    std::size_t max_events = 0;
    std::uint64_t dropped = 0;
    std::optional<error> ended;  // the disconnect reason, once over
    bool ready = false;

    explicit impl(epoll::loop l) : loop(std::move(l)) {}

    void on_event(qmp::client_event& e) {
        if (auto* r = std::get_if<qmp::reply>(&e)) {
            outcomes.insert_or_assign(r->id.value, std::move(r->value));
        } else if (auto* er = std::get_if<qmp::error_reply>(&e)) {
            outcomes.insert_or_assign(er->id.value, tl::unexpected(error::from_reply(er->error_class, er->desc)));
        } else if (auto* f = std::get_if<request_failed>(&e)) {
            outcomes.insert_or_assign(f->id.value, tl::unexpected(f->error));
        } else if (auto* n = std::get_if<qmp::no_reply>(&e)) {
            outcomes.insert_or_assign(n->id.value, nlohmann::json());
        } else if (auto* ev = std::get_if<qmp::event>(&e)) {
            if (events.size() >= max_events) {
                events.pop_front();
                ++dropped;
            }
            events.push_back(std::move(*ev));
        } else if (std::holds_alternative<qmp::ready>(e)) {
            ready = true;
        } else if (auto* d = std::get_if<disconnect>(&e)) {
            ended = d->reason;
        }
    }

    // Runs the loop until `done()` or the deadline; false on timeout.
    template <class Done>
    bool run_until(time_point deadline, Done done) {
        while (!done()) {
            const time_point now = epoll::loop::now();
            if (now >= deadline) return false;
            if (!loop.run_once(deadline - now)) return false;
        }
        return true;
    }

    tl::expected<void, error> require_open() const {
        if (ended) return tl::unexpected(error(errc::invalid_state, "the session ended: " + ended->message()));
        return {};
    }
};

sync_client::sync_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
sync_client::sync_client(sync_client&&) noexcept = default;
sync_client& sync_client::operator=(sync_client&&) noexcept = default;
sync_client::~sync_client() = default;

tl::expected<sync_client, error> sync_client::connect(std::string_view where, duration timeout,
                                                      epoll::connection_options options) {
    auto endpoint = epoll::endpoint::parse(where);
    if (!endpoint) return tl::unexpected(endpoint.error());
    auto l = epoll::loop::create();
    if (!l) return tl::unexpected(l.error());
    auto p = std::make_unique<impl>(std::move(*l));
    p->max_events = options.client.max_undelivered_events;
    options.connect_timeout = std::min(options.connect_timeout, timeout);
    options.handshake_timeout = timeout;
    options.reconnect.reset();
    options.write_at_once = true;  // one command, then a wait: nothing else would join it
    impl* raw = p.get();
    auto conn = epoll::qmp_connection::connect(p->loop, *endpoint, std::move(options),
                                               [raw](epoll::qmp_connection&, qmp::client_event& e) { raw->on_event(e); });
    if (!conn) return tl::unexpected(conn.error());
    p->conn = std::move(*conn);
    const time_point deadline = epoll::loop::now() + timeout + std::chrono::seconds(1);
    if (!p->run_until(deadline, [&] { return p->ready || p->ended.has_value(); })) {
        return tl::unexpected(error(errc::handshake_timed_out, "no QMP handshake from " + endpoint->to_string()));
    }
    if (p->ended) return tl::unexpected(*p->ended);
    return sync_client(std::move(p));
}

const qmp::greeting& sync_client::greeting() const { return *impl_->conn->client().greeting(); }
bool sync_client::oob_enabled() const { return impl_->conn->client().oob_enabled(); }
bool sync_client::is_connected() const { return !impl_->ended; }
std::uint64_t sync_client::events_dropped() const { return impl_->dropped; }
const std::optional<error>& sync_client::disconnect_reason() const { return impl_->ended; }

tl::expected<nlohmann::json, error> sync_client::execute(std::string_view command, nlohmann::json arguments,
                                                         duration timeout) {
    return execute(command, std::move(arguments), qmp::exec_options{}, timeout);
}

tl::expected<nlohmann::json, error> sync_client::execute(std::string_view command, nlohmann::json arguments,
                                                         qmp::exec_options options, duration timeout) {
    if (auto open = impl_->require_open(); !open) return tl::unexpected(open.error());
    const time_point now = epoll::loop::now();
    if (!options.deadline) options.deadline = now + timeout;
    auto id = impl_->conn->execute(command, std::move(arguments), std::move(options));
    if (!id) return tl::unexpected(id.error());
    // The core fails the request at its deadline, so this ends; the margin only guards the loop.
    impl_->run_until(*options.deadline + std::chrono::seconds(1),
                     [&] { return impl_->outcomes.contains(id->value); });
    auto it = impl_->outcomes.find(id->value);
    if (it == impl_->outcomes.end()) return tl::unexpected(error(errc::timed_out, "no reply to " + std::string(command)));
    auto outcome = std::move(it->second);
    impl_->outcomes.erase(it);
    return outcome;
}

tl::expected<nlohmann::json, error> sync_client::execute_with_fds(std::string_view command, nlohmann::json arguments,
                                                                  std::vector<int> fds, duration timeout) {
    qmp::exec_options options;
    options.fds = std::move(fds);
    return execute(command, std::move(arguments), std::move(options), timeout);
}

tl::expected<qmp::event, error> sync_client::wait_event(std::string_view name, duration timeout) {
    std::size_t seen = 0;  // events already checked
    auto take = [&]() -> std::optional<qmp::event> {
        for (; seen < impl_->events.size(); ++seen) {
            if (name.empty() || impl_->events[seen].name == name) {
                qmp::event e = std::move(impl_->events[seen]);
                impl_->events.erase(impl_->events.begin() + static_cast<std::ptrdiff_t>(seen));
                return e;
            }
        }
        return std::nullopt;
    };
    if (auto e = take()) return *e;
    if (auto open = impl_->require_open(); !open) return tl::unexpected(open.error());
    std::optional<qmp::event> found;
    impl_->run_until(epoll::loop::now() + timeout, [&] {
        found = take();
        return found.has_value() || impl_->ended.has_value();
    });
    if (found) return *found;
    if (impl_->ended) return tl::unexpected(*impl_->ended);
    return tl::unexpected(error(errc::timed_out, "no event " + std::string(name.empty() ? "at all" : name)));
}

std::vector<qmp::event> sync_client::events() {
    std::vector<qmp::event> out(std::make_move_iterator(impl_->events.begin()),
                                std::make_move_iterator(impl_->events.end()));
    impl_->events.clear();
    return out;
}

tl::expected<void, error> sync_client::close() {
    if (auto open = impl_->require_open(); !open) return open;
    return impl_->conn->close();
}

}  // namespace qwire
