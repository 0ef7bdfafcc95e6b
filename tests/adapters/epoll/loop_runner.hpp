// Runs an epoll loop in tests until a condition holds, with a deadline, and records the events
// each connection's handler sees.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qwire/epoll/qmp_connection.hpp"
#include "testing.hpp"

namespace qwire::test {

/// Runs the loop until `done()` or `timeout`; true when done.
inline bool run_until(epoll::loop& loop, const std::function<bool()>& done, duration timeout) {
    const time_point until = epoll::loop::now() + timeout;
    while (!done()) {
        const time_point now = epoll::loop::now();
        if (now >= until) return false;
        if (!loop.run_once(until - now)) return false;
    }
    return true;
}

/// The events one connection saw, in order, and how many of each kind.
struct recorder {
    std::vector<qmp::client_event> events;
    std::size_t replies = 0, failures = 0, readies = 0, disconnects = 0;

    epoll::qmp_connection::event_handler handler() {
        return [this](epoll::qmp_connection&, qmp::client_event& e) {
            replies += std::holds_alternative<qmp::reply>(e) || std::holds_alternative<qmp::error_reply>(e);
            failures += std::holds_alternative<request_failed>(e);
            readies += std::holds_alternative<qmp::ready>(e);
            disconnects += std::holds_alternative<disconnect>(e);
            events.push_back(e);
        };
    }

    template <class T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& e : events) {
            if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
        }
        return out;
    }
};

}  // namespace qwire::test
