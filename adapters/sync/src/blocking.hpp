// The machinery shared by the blocking front ends: a private epoll loop, one connection, and
// the outcome of each request kept until the caller collects it. Everything else the client
// emits (QEMU events, IRQ lines) is kept in order for the caller.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <variant>

#include "qwire/epoll/connection.hpp"

namespace qwire::sync_detail {

template <class Client>
class blocking {
public:
    using conn_type = epoll::connection<Client>;
    using event_type = typename conn_type::event_type;

    // Connects and runs until `ready(conn)` or the session ends; the error says why not.
    template <class Ready>
    static tl::expected<std::unique_ptr<blocking>, error> open(std::string_view where, duration timeout,
                                                               typename conn_type::options_type options, Ready ready) {
        auto endpoint = epoll::endpoint::parse(where);
        if (!endpoint) return tl::unexpected(endpoint.error());
        auto l = epoll::loop::create();
        if (!l) return tl::unexpected(l.error());
        std::unique_ptr<blocking> b(new blocking(std::move(*l)));
        options.connect_timeout = std::min(options.connect_timeout, timeout);
        options.handshake_timeout = timeout;
        options.reconnect.reset();
        options.write_at_once = true;  // one request, then a wait: nothing else would join it
        blocking* raw = b.get();
        auto c = conn_type::connect(b->loop_, *endpoint, std::move(options),
                                    [raw](conn_type&, event_type& e) { raw->on_event(e); });
        if (!c) return tl::unexpected(c.error());
        b->conn_ = std::move(*c);
        const time_point until = epoll::loop::now() + timeout + std::chrono::seconds(1);
        if (!b->run_until(until, [&] { return ready(*b->conn_) || b->ended_.has_value(); })) {
            return tl::unexpected(error(errc::handshake_timed_out, "no session with " + endpoint->to_string()));
        }
        if (b->ended_) return tl::unexpected(*b->ended_);
        return b;
    }

    [[nodiscard]] conn_type& conn() { return *conn_; }
    [[nodiscard]] const std::optional<error>& ended() const { return ended_; }
    [[nodiscard]] std::deque<event_type>& others() { return others_; }

    tl::expected<void, error> require_open() const {
        if (ended_) return tl::unexpected(error(errc::invalid_state, "the session ended: " + ended_->message()));
        return {};
    }

    // Issues a request with `issue(client, options)` and waits for its outcome event.
    template <class Issue>
    tl::expected<event_type, error> call(Issue issue, duration timeout) {
        if (auto open = require_open(); !open) return tl::unexpected(open.error());
        const time_point deadline = epoll::loop::now() + timeout;
        auto id = conn_->submit([&](Client& c) { return issue(c, deadline); });
        if (!id) return tl::unexpected(id.error());
        run_until(deadline + std::chrono::seconds(1), [&] { return outcomes_.contains(id->value); });
        auto it = outcomes_.find(id->value);
        if (it == outcomes_.end()) return tl::unexpected(error(errc::timed_out, "no outcome by the deadline"));
        event_type e = std::move(it->second);
        outcomes_.erase(it);
        if (auto* f = std::get_if<request_failed>(&e)) return tl::unexpected(f->error);
        return e;
    }

    // Runs the loop until `done()` or the deadline; false on timeout.
    template <class Done>
    bool run_until(time_point deadline, Done done) {
        while (!done()) {
            const time_point now = epoll::loop::now();
            if (now >= deadline) return false;
            if (!loop_.run_once(deadline - now)) return false;
        }
        return true;
    }

private:
    explicit blocking(epoll::loop l) : loop_(std::move(l)) {}

    void on_event(event_type& e) {
        if (auto* d = std::get_if<disconnect>(&e)) {
            ended_ = d->reason;
            return;
        }
        const std::optional<std::uint64_t> id = std::visit(
            [](const auto& v) -> std::optional<std::uint64_t> {
                if constexpr (requires { v.id.value; }) {
                    return v.id.value;
                } else {
                    return std::nullopt;
                }
            },
            e);
        if (id) {
            outcomes_.insert_or_assign(*id, std::move(e));
        } else {
            others_.push_back(std::move(e));
        }
    }

    epoll::loop loop_;
    std::unique_ptr<conn_type> conn_;
    std::map<std::uint64_t, event_type> outcomes_;
    std::deque<event_type> others_;
    std::optional<error> ended_;
};

}  // namespace qwire::sync_detail
