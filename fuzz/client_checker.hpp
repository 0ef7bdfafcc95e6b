// A protocol client (qmp::client, qga::client, qtest::client) under watch, shared by the client
// harnesses. Every call goes through it, and after each it checks the client's promises:
//   - each request_id the client handed out ends exactly once (an event carrying its id:
//     reply, error reply, no_reply, synced or request_failed), and pending_requests() counts
//     exactly those not ended yet;
//   - disconnect is the last event, comes at most once, and the client is then closed;
//   - no more of the peer's asynchronous events (`Async`) wait undelivered than
//     max_undelivered_events;
//   - a refused call leaves the state and the pending count unchanged;
//   - after handle_timeout(now) no deadline at or before `now` is left armed;
//   - what the client writes passes `check_output` (e.g. it is a sequence of JSON objects).
// It keeps every event it pulled (events()), so that two runs can be compared (same_events()).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"
#include "qwire/time.hpp"

namespace qwire::fuzz {

template <class Client, class Async>
class client_checker {
public:
    using output_check = std::function<void(std::string_view)>;

    using options = std::remove_cvref_t<decltype(std::declval<const Client&>().options())>;
    using event = typename decltype(std::declval<Client&>().next_event())::value_type;

    client_checker(options o, output_check check_output)
                : client_(std::move(o)), check_output_(std::move(check_output)) {}

    [[nodiscard]] Client& client() noexcept { return client_; }
    /// Every event pulled so far, in order.
    [[nodiscard]] const std::vector<event>& events() const noexcept { return events_; }
    /// Requests issued and not ended, oldest first.
    [[nodiscard]] const std::set<request_id>& open_requests() const noexcept { return outcomes_.open(); }
    /// The n-th open request (n modulo their number), or n itself when none is open.
    [[nodiscard]] request_id pick_open(std::size_t n) const {
        if (outcomes_.open().empty()) return request_id{n};
        auto it = outcomes_.open().begin();
        std::advance(it, n % outcomes_.open().size());
        return *it;
    }

    /// Runs a call that issues a request (execute(), sync(), readl()…) and records its id.
    template <class F>
    void issue(F&& call) {
        const auto id = checked(std::forward<F>(call));
        if (id) outcomes_.issued(*id);
    }
    void cancel(request_id id) {
        checked([&] { return client_.cancel(id); });
    }
    void receive(std::string_view bytes) {
        const std::string copy(bytes);  // gone after the call: the client must not keep views into it
        const auto r = checked([&] { return client_.receive(copy); });
        if (!r) FUZZ_CHECK(!client_.is_open());
    }
    /// Receives `bytes` in one call, or with `split` in two, cut where their first byte says:
    /// how raw bytes are cut must not change what the client does.
    void receive_maybe_split(std::string_view bytes, bool split) {
        if (!split || bytes.empty()) return receive(bytes);
        const std::size_t at = static_cast<std::uint8_t>(bytes.front()) % (bytes.size() + 1);
        receive(bytes.substr(0, at));
        if (client_.is_open()) receive(bytes.substr(at));
    }
    void receive_eof() {
        checked([&] { return client_.receive_eof(); });
        FUZZ_CHECK(!client_.is_open());
    }
    void transport_failed(std::error_code ec) {
        checked([&] { return client_.transport_failed(ec); });
        FUZZ_CHECK(!client_.is_open());
    }
    void handle_timeout(time_point now) {
        checked([&] { return client_.handle_timeout(now); });
        if (const auto next = client_.next_deadline()) FUZZ_CHECK(*next > now);
    }
    void close() {
        checked([&] { return client_.close(); });
        FUZZ_CHECK(!client_.is_open());
    }

    /// Writes up to n bytes of output and checks them.
    void write_output(std::size_t n) {
        const auto view = client_.pending_output();
        if (!client_.is_open()) FUZZ_CHECK(view.bytes.empty());
        const std::size_t written = std::min(n, view.bytes.size());
        if (written == 0) return;
        check_output_(view.bytes.substr(0, written));
        client_.consume_output(written);
    }

    /// Pulls every waiting event and checks them.
    void drain_events() {
        std::size_t async = 0;
        while (auto e = client_.next_event()) {
            outcomes_.event_pulled();
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, Async>) {
                        ++async;
                    } else if constexpr (std::is_same_v<T, disconnect>) {
                        outcomes_.disconnected();
                        FUZZ_CHECK(!client_.is_open());
                        FUZZ_CHECK(!client_.next_event());
                    } else if constexpr (requires { v.id; }) {
                        outcomes_.ended(v.id);
                    }
                },
                *e);
            events_.push_back(std::move(*e));
        }
        FUZZ_CHECK(async <= client_.options().max_undelivered_events);
        FUZZ_CHECK(client_.pending_requests() == outcomes_.open().size());
    }

    /// The operations every client harness has, after its own: 0 time passes (a u16 of ms), 1
    /// time jumps to the next deadline, 2 a few bytes are written (a byte's worth), 3 all are
    /// written, 4 close(); anything else pulls the waiting events. `now` is the harness's clock.
    void common_op(unsigned op, input& in, time_point& now) {
        switch (op) {
        case 0:
            now += std::chrono::milliseconds(in.u16());
            handle_timeout(now);
            break;
        case 1:
            if (const auto deadline = client_.next_deadline(); deadline && *deadline > now) now = *deadline;
            handle_timeout(now);
            break;
        case 2: write_output(in.byte()); break;
        case 3: write_output(std::numeric_limits<std::size_t>::max()); break;
        case 4: close(); break;
        default: drain_events(); break;
        }
    }

    /// Ends the session (EOF) if it is still open, drains, and checks that everything ended.
    void finish() {
        if (client_.is_open()) receive_eof();
        write_output(std::numeric_limits<std::size_t>::max());
        drain_events();
        outcomes_.check_finished();
        FUZZ_CHECK(client_.pending_requests() == 0);
        FUZZ_CHECK(!client_.next_deadline());
        FUZZ_CHECK(client_.pending_output().bytes.empty());
    }

private:
    // Runs a call; if it is refused, the state and the pending count must not have moved.
    template <class F>
    auto checked(F&& call) {
        const auto state = client_.state();
        const auto pending = client_.pending_requests();
        auto result = std::forward<F>(call)();
        if (!result) {
            FUZZ_CHECK(client_.state() == state);
            FUZZ_CHECK(client_.pending_requests() == pending);
        }
        return result;
    }

    Client client_;
    outcomes outcomes_;
    std::vector<event> events_;
    output_check check_output_;
};

/// Whether two runs pulled the same events: equal values, except that errors are compared by
/// code (their details may say where in the input they were found).
template <class Event>
bool same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].index() != b[i].index()) return false;
        const bool same = std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                const T& y = std::get<T>(b[i]);
                if constexpr (std::is_same_v<T, disconnect>) return x.reason.code() == y.reason.code();
                else if constexpr (std::is_same_v<T, request_failed>)
                    return x.id == y.id && x.error.code() == y.error.code();
                else if constexpr (std::is_same_v<T, protocol_violation>) return x.error.code() == y.error.code();
                else return x == y;
            },
            a[i]);
        if (!same) return false;
    }
    return true;
}

}  // namespace qwire::fuzz
