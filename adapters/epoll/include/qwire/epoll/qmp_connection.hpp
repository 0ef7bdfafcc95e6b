// qwire/epoll/qmp_connection.hpp — a QMP session over a non-blocking socket on an epoll loop.
//
// A qmp_connection owns one socket and one qwire::qmp::client and moves bytes between them:
// it reads with recv() into receive(), writes pending_output() with sendmsg() (file
// descriptors as SCM_RIGHTS with the first byte of their command), maps EOF and socket errors
// to receive_eof()/transport_failed(), arms the loop's timer from next_deadline(), and hands
// every event to the application's handler, in order. It closes the socket when the client
// emits `disconnect`. All protocol decisions stay in qmp::client.
//
// It can dial (Unix path or host:port, non-blocking connect with a deadline) or accept one
// connection on a listening Unix socket (for QEMU started with `server=off`, which dials us).
// With a reconnect_policy it dials (or accepts) again after a lost connection, with a fresh
// qmp::client each time: the application sees `disconnect`, then `greeting`/`ready` again.
// Requests never carry over: those of the lost connection fail; commands executed after the
// disconnect are held by the new client until it is ready.
//
// Connection failures use the core's own path: a refused or timed-out connect fails the held
// requests and ends in `disconnect` (reason connection_lost, cause = the OS error or timed_out).
//
// The handler runs from the loop (and from close()). It may call execute(), cancel() and
// close(); it must not destroy the connection or run the loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/epoll/loop.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::epoll {

/// Dial again after a lost connection: wait initial_delay, then multiply by growth up to
/// max_delay; give up after max_attempts failed attempts in a row (0: never give up).
struct reconnect_policy {
    duration initial_delay = std::chrono::milliseconds(100);
    duration max_delay = std::chrono::seconds(5);
    double growth = 2.0;
    unsigned max_attempts = 0;
};

struct connection_options {
    qmp::client_options client;  ///< handshake_deadline is set anew at each dial
    duration connect_timeout = std::chrono::seconds(5);
    /// From the start of a dial (or from accepting QEMU's connection) to `ready`.
    duration handshake_timeout = std::chrono::seconds(10);
    std::optional<reconnect_policy> reconnect;
};

class qmp_connection final : private source {
public:
    using event_handler = std::function<void(qmp_connection&, qmp::client_event&)>;

    /// Starts dialing `where`. Errors only for a bad endpoint (invalid_argument) or when the
    /// loop cannot register a socket; a refused connection arrives as events.
    [[nodiscard]] static tl::expected<std::unique_ptr<qmp_connection>, error> connect(
        loop& l, const endpoint& where, connection_options options, event_handler handler);

    /// Listens on a Unix socket at `path` and takes the first connection to it (QEMU with
    /// `-chardev socket,path=PATH,server=off`). Errors when the socket cannot be made.
    [[nodiscard]] static tl::expected<std::unique_ptr<qmp_connection>, error> accept(
        loop& l, const std::string& path, connection_options options, event_handler handler);

    qmp_connection(const qmp_connection&) = delete;
    qmp_connection& operator=(const qmp_connection&) = delete;
    ~qmp_connection() override;

    // Getters.
    [[nodiscard]] const qmp::client& client() const noexcept { return client_; }
    [[nodiscard]] bool is_ready() const noexcept { return client_.is_ready(); }
    /// True once the connection is over for good (closed, or reconnecting gave up).
    [[nodiscard]] bool finished() const noexcept { return phase_ == phase::finished; }
    /// Connections made so far (1 after the first, 2 after one reconnect, …).
    [[nodiscard]] unsigned connections() const noexcept { return connections_; }

    // Commands.
    /// qmp::client::execute with exec_options::now filled in; the command is written at once
    /// when the socket takes it. Errors are the client's (invalid_state once finished).
    tl::expected<request_id, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                            qmp::exec_options options = {});
    tl::expected<void, error> cancel(request_id id);
    /// Ends the session for good (no reconnect): pending requests fail with cancelled, then the
    /// handler sees `disconnect` (reason closed), before close() returns.
    tl::expected<void, error> close();

private:
    enum class phase : std::uint8_t { dialing, accepting, connected, waiting_to_redial, finished };

    qmp_connection(loop& l, connection_options options, event_handler handler);

    void on_ready(std::uint32_t events) override;
    void on_time(time_point now) override;
    std::optional<time_point> deadline() const override;

    void start();
    void dial();
    void connected(unique_fd fd);
    void fail_dial(std::error_code ec);
    void read_all();
    void flush();
    void deliver();
    void lost();
    void update_interest();
    qmp::client fresh_client(std::optional<time_point> dial_at) const;

    loop* loop_;
    connection_options options_;
    event_handler handler_;
    std::optional<endpoint> where_;  // dial mode
    std::string listen_path_;        // accept mode
    unique_fd listener_;
    unique_fd sock_;
    qmp::client client_;
    phase phase_ = phase::dialing;
    std::optional<time_point> phase_deadline_;  // dial, accept or redial time
    std::uint32_t interest_ = 0;
    bool closed_by_user_ = false;
    bool delivering_ = false;
    unsigned connections_ = 0;
    unsigned failures_ = 0;  // failed attempts in a row
    duration next_delay_{};
};

}  // namespace qwire::epoll
