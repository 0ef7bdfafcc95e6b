#include "qwire/epoll/qmp_connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace qwire::epoll {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr int reads_per_wakeup = 16;  // then let other connections run

std::error_code os_error() { return {errno, std::system_category()}; }

}  // namespace

qmp_connection::qmp_connection(loop& l, connection_options options, event_handler handler)
    : loop_(&l), options_(std::move(options)), handler_(std::move(handler)), client_(fresh_client(std::nullopt)) {
    if (options_.reconnect) next_delay_ = options_.reconnect->initial_delay;
}

qmp_connection::~qmp_connection() {
    if (sock_) loop_->remove(sock_.get(), this);
    if (listener_) loop_->remove(listener_.get(), this);
    loop_->unwatch(this);
}

tl::expected<std::unique_ptr<qmp_connection>, error> qmp_connection::connect(loop& l, const endpoint& where,
                                                                            connection_options options,
                                                                            event_handler handler) {
    std::unique_ptr<qmp_connection> c(new qmp_connection(l, std::move(options), std::move(handler)));
    c->where_ = where;
    c->client_ = c->fresh_client(loop::now());  // the handshake deadline counts from this dial
    l.watch(c.get());
    c->start();
    return c;
}

tl::expected<std::unique_ptr<qmp_connection>, error> qmp_connection::accept(loop& l, const std::string& path,
                                                                           connection_options options,
                                                                           event_handler handler) {
    auto listener = listen_unix(path);
    if (!listener) return tl::unexpected(listener.error());
    std::unique_ptr<qmp_connection> c(new qmp_connection(l, std::move(options), std::move(handler)));
    c->listen_path_ = path;
    c->listener_ = std::move(*listener);
    l.watch(c.get());
    if (auto added = l.add(c->listener_.get(), EPOLLIN, c.get()); !added) return tl::unexpected(added.error());
    c->start();
    return c;
}

qmp::client qmp_connection::fresh_client(std::optional<time_point> dial_at) const {
    qmp::client_options o = options_.client;
    if (dial_at) o.handshake_deadline = *dial_at + options_.handshake_timeout;
    return qmp::client(std::move(o));
}

void qmp_connection::start() {
    if (where_) return dial();
    phase_ = phase::accepting;
    phase_deadline_.reset();  // QEMU may dial whenever it likes; the handshake deadline starts then
}

void qmp_connection::dial() {
    phase_ = phase::dialing;
    phase_deadline_ = loop::now() + options_.connect_timeout;
    bool in_progress = false;
    auto fd = start_connect(*where_, in_progress);
    if (!fd) return fail_dial(fd.error().cause() ? fd.error().cause() : std::make_error_code(std::errc::invalid_argument));
    if (!in_progress) return connected(std::move(*fd));
    sock_ = std::move(*fd);
    interest_ = EPOLLOUT;
    if (!loop_->add(sock_.get(), interest_, this)) fail_dial(os_error());
}

void qmp_connection::connected(unique_fd fd) {
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
    flush();  // commands executed before the connection was up
    deliver();
}

void qmp_connection::fail_dial(std::error_code ec) {
    (void)client_.transport_failed(ec);
    deliver();
}

void qmp_connection::on_ready(std::uint32_t events) {
    switch (phase_) {
        case phase::dialing:
            if (auto ec = finish_connect(sock_.get())) return fail_dial(ec);
            return connected(std::move(sock_));
        case phase::accepting: {
            auto fd = accept_one(listener_.get());
            if (!fd) return;
            // The handshake deadline starts now that QEMU has dialed, unless the application
            // already queued commands on the waiting client.
            if (client_.pending_requests() == 0) client_ = fresh_client(loop::now());
            return connected(std::move(*fd));
        }
        case phase::connected:
            if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_all();
            if (phase_ == phase::connected && (events & EPOLLOUT)) flush();
            deliver();
            return;
        case phase::waiting_to_redial:
        case phase::finished: return;
    }
}

void qmp_connection::on_time(time_point now) {
    if (phase_deadline_ && now >= *phase_deadline_) {
        if (phase_ == phase::dialing) return fail_dial(std::make_error_code(std::errc::timed_out));
        if (phase_ == phase::waiting_to_redial) return start();
    }
    (void)client_.handle_timeout(now);
    flush();
    deliver();
}

std::optional<time_point> qmp_connection::deadline() const {
    auto d = client_.next_deadline();
    if (phase_deadline_ && (!d || *phase_deadline_ < *d)) d = phase_deadline_;
    return d;
}

void qmp_connection::read_all() {
    std::array<char, read_chunk> buffer;
    for (int i = 0; i < reads_per_wakeup && client_.is_open(); ++i) {
        const ssize_t n = ::recv(sock_.get(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            (void)client_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            continue;
        }
        if (n == 0) {
            (void)client_.receive_eof();
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        (void)client_.transport_failed(os_error());
        return;
    }
}

void qmp_connection::flush() {
    if (phase_ != phase::connected) return;
    for (auto out = client_.pending_output(); !out.bytes.empty(); out = client_.pending_output()) {
        auto sent = send_with_fds(sock_.get(), out.bytes, out.fds);
        if (!sent) {
            if (sent.error() != std::errc::resource_unavailable_try_again) (void)client_.transport_failed(sent.error());
            break;
        }
        client_.consume_output(*sent);
    }
    update_interest();
}

void qmp_connection::update_interest() {
    if (phase_ != phase::connected || !sock_) return;
    const std::uint32_t wanted = EPOLLIN | (client_.pending_output().bytes.empty() ? 0u : EPOLLOUT);
    if (wanted != interest_ && loop_->modify(sock_.get(), wanted, this)) interest_ = wanted;
}

// Hands every event to the handler; on the disconnect, closes the socket and, when a policy
// says so, prepares the next attempt with a fresh client.
void qmp_connection::deliver() {
    if (delivering_) return;  // a handler calling execute()/close(): the outer loop delivers
    delivering_ = true;
    while (auto event = client_.next_event()) {
        const bool last = std::holds_alternative<disconnect>(*event);
        if (std::holds_alternative<qmp::ready>(*event)) {
            failures_ = 0;
            if (options_.reconnect) next_delay_ = options_.reconnect->initial_delay;
        }
        if (last) lost();  // the next client is in place before the handler runs
        handler_(*this, *event);
    }
    delivering_ = false;
    flush();
}

void qmp_connection::lost() {
    if (sock_) {
        loop_->remove(sock_.get(), this);
        sock_.reset();
    }
    interest_ = 0;
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

tl::expected<request_id, error> qmp_connection::execute(std::string_view command, nlohmann::json arguments,
                                                        qmp::exec_options options) {
    if (phase_ == phase::finished) return tl::unexpected(error(errc::invalid_state, "the connection is finished"));
    if (!options.now) options.now = loop::now();
    auto id = client_.execute(command, std::move(arguments), std::move(options));
    if (id) flush();
    if (!delivering_) deliver();
    return id;
}

tl::expected<void, error> qmp_connection::cancel(request_id id) {
    auto r = client_.cancel(id);
    if (!delivering_) deliver();
    return r;
}

tl::expected<void, error> qmp_connection::close() {
    if (phase_ == phase::finished) return tl::unexpected(error(errc::invalid_state, "the connection is finished"));
    closed_by_user_ = true;
    auto r = client_.close();
    if (!r) {
        // Between a disconnect and the next attempt: nothing is pending on the fresh client
        // except held commands, which close() fails above when it can.
        lost();
        return {};
    }
    if (!delivering_) deliver();
    return {};
}

}  // namespace qwire::epoll
