/// \file
/// \brief One protocol session over a non-blocking socket on an epoll loop.
///
/// connection<Client> owns one socket and one sans-I/O client (qmp::client, qtest::client or
/// qga::client) and moves bytes between them: it reads with recv() into receive(), writes
/// pending_output() with sendmsg() (file descriptors as SCM_RIGHTS with the first byte of their
/// command), maps EOF and socket errors to receive_eof()/transport_failed(), arms the loop's timer
/// from next_deadline(), and hands every event to the application's handler, in order. It closes
/// the socket when the client emits `disconnect`. All protocol decisions stay in the client.
///
/// It can dial (Unix path or host:port, non-blocking connect with a deadline; a Unix listener
/// whose backlog is full, as a busy QEMU's often is, is dialled again until then), accept one
/// connection on a listening Unix socket (for QEMU started with `server=off`, which dials us),
/// or adopt a socket that is already connected (a socketpair).
/// With a reconnect_policy it dials (or accepts) again after a lost connection, with a fresh
/// client each time: the application sees `disconnect`, then a new session. Requests never carry
/// over: those of the lost connection fail; commands issued after the disconnect are held by the
/// new client until its session is ready.
///
/// Per protocol: a QMP client gets its handshake deadline from handshake_timeout at each dial; a
/// guest-agent client is synchronised at each connect with a fresh random token (the adapter may
/// draw random numbers; the core may not), bounded by handshake_timeout too.
///
/// Connection failures use the core's own path: a refused or timed-out connect fails the held
/// requests and ends in `disconnect` (reason connection_lost, cause = the OS error or timed_out).
///
/// The handler runs from the loop (and from close()). It may issue commands, cancel() and close();
/// it must not destroy the connection or run the loop. Not thread-safe: one loop, one thread.
#pragma once

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/epoll/loop.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/session.hpp"

namespace qwire::epoll {

/// Dial again after a lost connection: wait initial_delay, then multiply by growth up to
/// max_delay; give up after max_attempts failed attempts in a row (0: never give up).
struct reconnect_policy {
    duration initial_delay = std::chrono::milliseconds(100);  ///< wait before the first new attempt
    duration max_delay = std::chrono::seconds(5);  ///< the longest wait between attempts
    double growth = 2.0;  ///< each wait is the previous one times this
    unsigned max_attempts = 0;  ///< failed attempts in a row before giving up; 0: never
};

/// Options of a connection: the protocol client's, plus the timeouts and reconnection of
/// the transport.
template <class ClientOptions>
struct basic_connection_options {
    ClientOptions client;  ///< for QMP, handshake_deadline is set anew at each dial
    duration connect_timeout = std::chrono::seconds(5);  ///< from the start of a dial until the socket is connected
    /// From the start of a dial (or from accepting the peer's connection) to a ready session:
    /// QMP's greeting and negotiation, or the guest agent's sync.
    duration handshake_timeout = std::chrono::seconds(10);
    std::optional<reconnect_policy> reconnect;  ///< dial again after a lost connection; none: do not
    /// Write each command inside the call that issues it, instead of on the loop's next
    /// iteration. For a caller that issues one command and then waits for it (the blocking
    /// clients): the command leaves without two epoll_ctl() calls to ask for EPOLLOUT and drop
    /// it again. Commands issued together then leave in separate sendmsg() calls.
    bool write_at_once = false;
};

namespace detail {
template <class T>
struct type_is {
    using type = T;
};
// A client's exec_options and sync_options types, from its execute() and sync() signatures.
template <class R, class C, class A, class O>
type_is<O> exec_options_of(R (C::*)(std::string_view, A, O));
template <class R, class C, class O>
type_is<O> sync_options_of(R (C::*)(std::uint64_t, O));
}  // namespace detail

/// One protocol session over a non-blocking socket on a loop (see the file comment).
template <class Client>
class connection final : private source {
public:
    using client_type = Client;  ///< qmp::client, qga::client or qtest::client
    using client_options = std::remove_cvref_t<decltype(std::declval<const Client&>().options())>;  ///< the client's options type
    using event_type = typename decltype(std::declval<Client&>().next_event())::value_type;  ///< the client's event variant
    using event_handler = std::function<void(connection&, event_type&)>;  ///< gets every event, with the connection, on the loop
    using options_type = basic_connection_options<client_options>;  ///< this connection's options

    /// Starts dialing `where`. Errors only when the loop cannot take the connection; a refused
    /// connection arrives as events.
    [[nodiscard]] static tl::expected<std::unique_ptr<connection>, error> connect(loop& l, const endpoint& where,
                                                                                 options_type options,
                                                                                 event_handler handler) {
        std::unique_ptr<connection> c(new connection(l, std::move(options), std::move(handler)));
        c->where_ = where;
        c->client_ = c->fresh_client(loop::now());  // the handshake deadline counts from this dial
        l.watch(c.get());
        c->start();
        return c;
    }

    /// Listens on a Unix socket at `path` and takes the first connection to it (QEMU with
    /// `-chardev socket,path=PATH,server=off`). Errors when the socket cannot be made.
    [[nodiscard]] static tl::expected<std::unique_ptr<connection>, error> accept(loop& l, const std::string& path,
                                                                                options_type options,
                                                                                event_handler handler) {
        auto listener = listen_unix(path);
        if (!listener) return tl::unexpected(listener.error());
        std::unique_ptr<connection> c(new connection(l, std::move(options), std::move(handler)));
        c->listener_ = std::move(*listener);
        l.watch(c.get());
        if (auto added = l.add(c->listener_.get(), EPOLLIN, c.get()); !added) return tl::unexpected(added.error());
        c->start();
        return c;
    }

    /// Starts the session on a socket that is already connected: one end of a socketpair
    /// (an in-process peer), or a descriptor inherited from a parent. It is made non-blocking.
    /// There is nothing to dial again, so `options.reconnect` is ignored: once the session
    /// ends, the connection is finished. Problems with the descriptor arrive as events.
    [[nodiscard]] static std::unique_ptr<connection> adopt(loop& l, unique_fd fd, options_type options,
                                                           event_handler handler) {
        options.reconnect.reset();
        std::unique_ptr<connection> c(new connection(l, std::move(options), std::move(handler)));
        c->client_ = c->fresh_client(loop::now());
        l.watch(c.get());
        const int flags = ::fcntl(fd.get(), F_GETFL);
        if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
            (void)c->client_.transport_failed(std::error_code(errno, std::system_category()));
            c->deliver();
            return c;
        }
        c->connected(std::move(fd));
        return c;
    }

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() override {
        if (sock_) loop_->remove(sock_.get(), this);
        if (listener_) loop_->remove(listener_.get(), this);
        loop_->unwatch(this);
    }

    // Getters.
    /// The protocol client of the current session: state, greeting, counters.
    [[nodiscard]] const Client& client() const noexcept { return client_; }
    /// True while a session is up and ready for commands (QMP negotiated, guest agent synced).
    [[nodiscard]] bool is_ready() const noexcept {
        if constexpr (requires(const Client& c) { c.is_ready(); }) {
            return client_.is_ready();
        } else {
            return phase_ == phase::connected && client_.is_open();
        }
    }
    /// True once the connection is over for good (closed, or reconnecting gave up).
    [[nodiscard]] bool finished() const noexcept { return phase_ == phase::finished; }
    /// Connections made so far (1 after the first, 2 after one reconnect, …).
    [[nodiscard]] unsigned connections() const noexcept { return connections_; }

    // Commands.
    /// Runs `f(client)` — any command of the client, e.g. `[&](auto& c) { return c.readl(a); }`
    /// — and delivers the events it caused. Returns what f returns. The bytes are written on
    /// the loop's next iteration, so commands issued together leave in one sendmsg(): QEMU
    /// then reads them in one go instead of waking once per command. With
    /// options_type::write_at_once they are written before submit() returns.
    template <class F>
    auto submit(F&& f) -> decltype(std::forward<F>(f)(std::declval<Client&>())) {
        auto result = std::forward<F>(f)(client_);
        if (options_.write_at_once) flush();
        if (!delivering_) deliver();
        want_write();
        return result;
    }

    /// The client's execute() with exec_options::now filled in (QMP and guest agent).
    template <class C = Client, class ExecOptions = typename decltype(detail::exec_options_of(&C::execute))::type>
    tl::expected<request_id, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                            ExecOptions options = {}) {
        if (phase_ == phase::finished) return tl::unexpected(error(errc::invalid_state, "the connection is finished"));
        if (!options.now) options.now = loop::now();
        return submit([&](Client& c) { return c.execute(command, std::move(arguments), std::move(options)); });
    }

    /// The client's cancel(): the request fails with cancelled. unknown_request when it is not
    /// pending.
    tl::expected<void, error> cancel(request_id id) {
        return submit([&](Client& c) { return c.cancel(id); });
    }

    /// Ends the session for good (no reconnect): pending requests fail with cancelled, then the
    /// handler sees `disconnect` (reason closed), before close() returns.
    tl::expected<void, error> close() {
        if (phase_ == phase::finished) return tl::unexpected(error(errc::invalid_state, "the connection is finished"));
        closed_by_user_ = true;
        if (!client_.close()) {
            lost();  // nothing open to close: just stop
            return {};
        }
        if (!delivering_) deliver();
        return {};
    }

private:
    enum class phase : std::uint8_t { dialing, accepting, connected, waiting_to_redial, finished };

    connection(loop& l, options_type options, event_handler handler)
        : loop_(&l), options_(std::move(options)), handler_(std::move(handler)), client_(fresh_client(std::nullopt)) {
        if (options_.reconnect) next_delay_ = options_.reconnect->initial_delay;
    }

    Client fresh_client(std::optional<time_point> dial_at) const {
        client_options o = options_.client;
        if constexpr (requires { o.handshake_deadline; }) {
            if (dial_at) o.handshake_deadline = *dial_at + options_.handshake_timeout;
        }
        return Client(std::move(o));
    }

    void start() {
        if (where_) return dial();
        phase_ = phase::accepting;
        phase_deadline_.reset();  // the peer dials whenever it likes; the handshake starts then
    }

    void dial() {
        phase_ = phase::dialing;
        phase_deadline_ = loop::now() + options_.connect_timeout;
        try_connect();
    }

    // One connect attempt. A Unix socket whose listen backlog is full refuses at once with
    // EAGAIN (QEMU listens with a backlog of 1 and may be slow to accept): that is tried again
    // a little later, until the connect deadline, as a blocking connect would wait.
    void try_connect() {
        busy_retry_at_.reset();
        bool in_progress = false;
        auto fd = start_connect(*where_, in_progress);
        if (!fd) {
            const auto cause = fd.error().cause();
            if (cause == std::errc::resource_unavailable_try_again) {
                busy_retry_at_ = loop::now() + busy_retry_delay;
                return;
            }
            return fail_dial(cause ? cause : std::make_error_code(std::errc::invalid_argument));
        }
        if (!in_progress) return connected(std::move(*fd));
        sock_ = std::move(*fd);
        interest_ = EPOLLOUT;
        if (!loop_->add(sock_.get(), interest_, this)) fail_dial(std::error_code(errno, std::system_category()));
    }

    void connected(unique_fd fd) {
        const bool registered = static_cast<bool>(sock_);
        sock_ = std::move(fd);
        phase_ = phase::connected;
        phase_deadline_.reset();
        ++connections_;
        interest_ = EPOLLIN;
        auto ok = registered ? loop_->modify(sock_.get(), interest_, this) : loop_->add(sock_.get(), interest_, this);
        if (!ok) {
            (void)client_.transport_failed(ok.error().cause());
            return deliver();
        }
        if constexpr (!requires(const Client& c) { c.is_ready(); }) failures_ = 0;
        if constexpr (requires(Client& c) { c.sync(std::uint64_t{}); }) {
            // The guest agent: trust nothing until synchronised, with a fresh random token.
            std::random_device random;
            const std::uint64_t token = (std::uint64_t{random()} << 31 ^ random()) & 0x7fffffffffffffffULL;
            typename decltype(detail::sync_options_of(&Client::sync))::type so;
            so.now = loop::now();
            so.timeout = options_.handshake_timeout;
            (void)client_.sync(token, so);
        }
        flush();  // commands issued before the connection was up
        deliver();
    }

    void fail_dial(std::error_code ec) {
        (void)client_.transport_failed(ec);
        deliver();
    }

    void on_ready(std::uint32_t events) override {
        switch (phase_) {
            case phase::dialing:
                if (auto ec = finish_connect(sock_.get())) return fail_dial(ec);
                return connected(std::move(sock_));
            case phase::accepting: {
                auto fd = accept_one(listener_.get());
                if (!fd) return;
                // The handshake deadline starts now that the peer has dialed, unless the
                // application already queued commands on the waiting client.
                if (client_.pending_requests() == 0) client_ = fresh_client(loop::now());
                return connected(std::move(*fd));
            }
            case phase::connected:
                if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_all();
                // What the input released (QMP's queued commands) leaves now instead of after
                // a round of EPOLLOUT; flush() asks for EPOLLOUT only if the socket is full.
                flush();
                deliver();
                return;
            case phase::waiting_to_redial:
            case phase::finished: return;
        }
    }

    void on_time(time_point now) override {
        if (phase_deadline_ && now >= *phase_deadline_) {
            if (phase_ == phase::dialing) return fail_dial(std::make_error_code(std::errc::timed_out));
            if (phase_ == phase::waiting_to_redial) return start();
        }
        if (phase_ == phase::dialing && busy_retry_at_ && now >= *busy_retry_at_) return try_connect();
        (void)client_.handle_timeout(now);
        flush();
        deliver();
    }

    std::optional<time_point> deadline() const override {
        auto d = client_.next_deadline();
        if (phase_deadline_ && (!d || *phase_deadline_ < *d)) d = phase_deadline_;
        if (busy_retry_at_ && (!d || *busy_retry_at_ < *d)) d = busy_retry_at_;
        return d;
    }

    void read_all() {
        constexpr int reads_per_wakeup = 16;  // then let other connections run
        std::array<char, 64 * 1024> buffer;
        for (int i = 0; i < reads_per_wakeup && client_.is_open(); ++i) {
            const ssize_t n = ::recv(sock_.get(), buffer.data(), buffer.size(), 0);
            if (n > 0) {
                (void)client_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
                // A short read drained the socket: another recv() would only say EAGAIN. The
                // loop is level-triggered, so anything arriving later wakes it again.
                if (static_cast<std::size_t>(n) < buffer.size()) return;
                continue;
            }
            if (n == 0) {
                (void)client_.receive_eof();
                return;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            (void)client_.transport_failed(std::error_code(errno, std::system_category()));
            return;
        }
    }

    void flush() {
        if (phase_ != phase::connected) return;
        for (auto out = client_.pending_output(); !out.bytes.empty(); out = client_.pending_output()) {
            auto sent = send_with_fds(sock_.get(), out.bytes, out.fds);
            if (!sent) {
                if (sent.error() != std::errc::resource_unavailable_try_again) (void)client_.transport_failed(sent.error());
                break;
            }
            client_.consume_output(*sent);
        }
        want_write();
    }

    // Asks the loop for EPOLLOUT while output waits, and only then.
    void want_write() {
        const std::uint32_t wanted = EPOLLIN | (client_.pending_output().bytes.empty() ? 0u : EPOLLOUT);
        if (phase_ == phase::connected && sock_ && wanted != interest_ && loop_->modify(sock_.get(), wanted, this)) {
            interest_ = wanted;
        }
    }

    // Hands every event to the handler; at the disconnect, closes the socket and, when the
    // policy says so, puts a fresh client in place for the next attempt.
    void deliver() {
        if (delivering_) return;  // a handler issuing commands: the outer loop delivers
        delivering_ = true;
        while (auto event = client_.next_event()) {
            const bool last = std::holds_alternative<disconnect>(*event);
            if (last) lost();  // the next client is in place before the handler runs
            handler_(*this, *event);
            if constexpr (requires(const Client& c) { c.is_ready(); }) {
                if (!last && client_.is_ready() && failures_ != 0) {
                    failures_ = 0;
                    if (options_.reconnect) next_delay_ = options_.reconnect->initial_delay;
                }
            }
        }
        delivering_ = false;
        want_write();
    }

    void lost() {
        if (sock_) {
            loop_->remove(sock_.get(), this);
            sock_.reset();
        }
        interest_ = 0;
        busy_retry_at_.reset();
        const auto& policy = options_.reconnect;
        if (closed_by_user_ || !policy || (policy->max_attempts != 0 && failures_ >= policy->max_attempts)) {
            phase_ = phase::finished;
            phase_deadline_.reset();
            if (listener_) {
                loop_->remove(listener_.get(), this);
                listener_.reset();
            }
            return;
        }
        ++failures_;
        phase_ = phase::waiting_to_redial;
        phase_deadline_ = loop::now() + next_delay_;
        client_ = fresh_client(where_ ? phase_deadline_ : std::nullopt);
        const auto grown = std::chrono::duration_cast<duration>(next_delay_ * policy->growth);
        next_delay_ = std::min<duration>(grown, policy->max_delay);
    }

    loop* loop_;
    options_type options_;
    event_handler handler_;
    std::optional<endpoint> where_;  // dial mode; accept mode has a listener
    unique_fd listener_;
    unique_fd sock_;
    Client client_;
    phase phase_ = phase::dialing;
    std::optional<time_point> phase_deadline_;  // connect, or the time to dial again
    std::optional<time_point> busy_retry_at_;    // connect again: the listener's backlog was full
    static constexpr duration busy_retry_delay = std::chrono::milliseconds(5);
    std::uint32_t interest_ = 0;
    bool closed_by_user_ = false;
    bool delivering_ = false;
    unsigned connections_ = 0;
    unsigned failures_ = 0;  // failed attempts in a row
    duration next_delay_{};
};

}  // namespace qwire::epoll
