#include "hostile_peer.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <utility>
#include <variant>

namespace demo {

namespace epoll = qwire::epoll;

tl::expected<std::unique_ptr<hostile_peer>, qwire::error> hostile_peer::listen(epoll::loop& loop,
                                                                             const std::string& path,
                                                                             std::string attack) {
    auto listener = epoll::listen_unix(path);
    if (!listener) return tl::unexpected(listener.error());
    std::unique_ptr<hostile_peer> peer(new hostile_peer(loop, std::move(*listener), std::move(attack)));
    if (auto added = loop.add(peer->listener_.get(), EPOLLIN, peer.get()); !added) {
        return tl::unexpected(added.error());
    }
    return peer;
}

hostile_peer::hostile_peer(epoll::loop& loop, epoll::unique_fd listener, std::string attack)
    : loop_(&loop), listener_(std::move(listener)), attack_(std::move(attack)) {}

hostile_peer::~hostile_peer() {
    if (client_) loop_->remove(client_.get(), this);
    if (listener_) loop_->remove(listener_.get(), this);
    loop_->unwatch(this);
}

void hostile_peer::on_ready(std::uint32_t events) {
    if (!client_) return accept_client();
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client();
    if (client_ && (events & EPOLLOUT)) write_out();
}

void hostile_peer::accept_client() {
    auto fd = epoll::accept_one(listener_.get());
    if (!fd) return;
    loop_->remove(listener_.get(), this);  // one client is all it serves
    listener_.reset();
    client_ = std::move(*fd);
    if (!loop_->add(client_.get(), EPOLLIN, this)) return hang_up();
    handle_server_events();  // the greeting, queued by the server when it was made
}

void hostile_peer::read_client() {
    std::array<char, 4096> buffer;
    while (client_) {
        const ssize_t n = ::recv(client_.get(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            (void)server_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            handle_server_events();
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        return hang_up();  // EOF or a socket error: the client is gone
    }
}

void hostile_peer::handle_server_events() {
    bool attack_now = false;
    while (auto e = server_.next_event()) {
        if (auto* c = std::get_if<qwire::qmp::command>(&*e); c && !attacked_) {
            attacked_ = c->name;
            attack_now = true;
        }
    }
    const auto out = server_.pending_output();  // the greeting, the qmp_capabilities reply
    out_.append(out.bytes);
    server_.consume_output(out.bytes.size());
    if (attack_now) out_ += attack_;
    write_out();
}

void hostile_peer::write_out() {
    while (client_ && !out_.empty()) {
        auto sent = epoll::send_with_fds(client_.get(), out_, {});
        if (!sent) {
            if (sent.error() == std::errc::resource_unavailable_try_again) break;
            return hang_up();
        }
        out_.erase(0, *sent);
    }
    if (client_) (void)loop_->modify(client_.get(), EPOLLIN | (out_.empty() ? 0u : EPOLLOUT), this);
}

void hostile_peer::hang_up() {
    (void)server_.receive_eof();
    while (server_.next_event()) {
    }
    if (client_) loop_->remove(client_.get(), this);
    client_.reset();
    out_.clear();
    gone_ = true;
}

}  // namespace demo
