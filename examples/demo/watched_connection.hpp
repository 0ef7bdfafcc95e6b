// An event-driven QMP connection (qwire::epoll::qmp_connection) whose handler records what
// arrives, in order, and, while narrating, prints each event as it comes with the time since
// its command was sent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qwire/epoll/qmp_connection.hpp"

namespace demo {

class watched_connection {
public:
    /// Dials `path` on `loop`; the handshake runs as the loop runs.
    watched_connection(qwire::epoll::loop& loop, const std::string& path);

    /// Sends a command, remembered by name for printing ("→ name" when narrating).
    qwire::request_id send(const std::string& command, nlohmann::json arguments = nullptr,
                           qwire::qmp::exec_options options = {});
    /// Runs the loop until `done()` (true) or `timeout` passes (false).
    template <class Done>
    bool run_until(Done done, qwire::duration timeout) {
        const auto until = qwire::epoll::loop::now() + timeout;
        while (!done()) {
            const auto now = qwire::epoll::loop::now();
            if (now >= until || !loop_->run_once(until - now)) return false;
        }
        return true;
    }

    [[nodiscard]] qwire::epoll::qmp_connection& connection() { return *conn_; }
    /// Print events as they arrive (off: only record them).
    void narrate(bool on) { narrate_ = on; }

    /// What arrived while narrating, in order; cleared by forget().
    struct arrival {
        std::string what;                     ///< "event RESUME", "reply to cont", …
        std::optional<qwire::request_id> id;  ///< the request it completes, if it does
        qwire::duration after;                ///< since that request was sent (or since forget())
    };
    [[nodiscard]] const std::vector<arrival>& arrivals() const { return arrivals_; }
    void forget();

    [[nodiscard]] std::size_t completed() const { return completed_; }
    /// The replies' request ids in arrival order (with errors and failures).
    [[nodiscard]] const std::vector<qwire::request_id>& completion_order() const { return order_; }
    [[nodiscard]] const std::vector<qwire::error>& violations() const { return violations_; }
    [[nodiscard]] const std::vector<qwire::error>& failures() const { return failures_; }
    [[nodiscard]] const std::optional<qwire::error>& ended() const { return ended_; }

private:
    void on_event(qwire::qmp::client_event& e);
    void record(std::string what, std::optional<qwire::request_id> id, const std::string& detail = {});

    qwire::epoll::loop* loop_;
    std::unique_ptr<qwire::epoll::qmp_connection> conn_;
    bool narrate_ = false;
    struct sent {
        std::string name;
        qwire::time_point at;
    };
    std::map<std::uint64_t, sent> sent_;
    qwire::time_point since_ = qwire::epoll::loop::now();
    std::vector<arrival> arrivals_;
    std::vector<qwire::request_id> order_;
    std::size_t completed_ = 0;
    std::vector<qwire::error> violations_;
    std::vector<qwire::error> failures_;
    std::optional<qwire::error> ended_;
};

}  // namespace demo
