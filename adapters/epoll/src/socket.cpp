#include "qwire/epoll/socket.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace qwire::epoll {
namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

tl::unexpected<error> failed(const std::string& what, std::error_code ec = last_error()) {
    return tl::unexpected(error(errc::connection_lost, what, ec));
}

tl::expected<sockaddr_un, error> unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        return tl::unexpected(error(errc::invalid_argument, "a Unix socket path must have 1 to " +
                                                                std::to_string(sizeof addr.sun_path - 1) + " bytes"));
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    return addr;
}

}  // namespace

tl::expected<endpoint, error> endpoint::parse(std::string_view text) {
    endpoint e;
    if (text.starts_with("unix:")) {
        e.path = std::string(text.substr(5));
        return e;
    }
    const bool tcp_prefix = text.starts_with("tcp:");
    if (tcp_prefix) text.remove_prefix(4);
    const auto colon = text.rfind(':');
    if (!tcp_prefix && (text.find('/') != std::string_view::npos || colon == std::string_view::npos)) {
        e.path = std::string(text);
        if (e.path.empty()) return tl::unexpected(error(errc::invalid_argument, "an empty endpoint"));
        return e;
    }
    if (colon == std::string_view::npos) return tl::unexpected(error(errc::invalid_argument, "tcp: needs HOST:PORT"));
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535 || host.empty()) {
        return tl::unexpected(error(errc::invalid_argument, "not HOST:PORT: " + std::string(text)));
    }
    e.type = kind::tcp;
    e.host = std::string(host);
    e.port = static_cast<std::uint16_t>(value);
    return e;
}

std::string endpoint::to_string() const {
    if (type == kind::unix_socket) return "unix:" + path;
    const bool v6 = host.find(':') != std::string::npos;
    return "tcp:" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
}

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

tl::expected<unique_fd, error> start_connect(const endpoint& where, bool& in_progress) {
    in_progress = false;
    if (where.type == endpoint::kind::unix_socket) {
        auto addr = unix_address(where.path);
        if (!addr) return tl::unexpected(addr.error());
        unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) return failed("socket");
        // EAGAIN here is not a connect in progress: the listener's backlog is full and this
        // socket is not connected. The error says so; the caller may try again.
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) < 0) {
            if (errno != EINPROGRESS) return failed("connect to " + where.to_string());
            in_progress = true;
        }
        return fd;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(where.port);
    if (int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        return tl::unexpected(error(errc::invalid_argument, "cannot resolve " + where.host + ": " + ::gai_strerror(rc)));
    }
    std::error_code last;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        unique_fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (!fd) {
            last = last_error();
            continue;
        }
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            in_progress = errno == EINPROGRESS;
            ::freeaddrinfo(found);
            return fd;
        }
        last = last_error();
    }
    ::freeaddrinfo(found);
    return failed("connect to " + where.to_string(), last);
}

std::error_code finish_connect(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) < 0) return last_error();
    return value == 0 ? std::error_code() : std::error_code(value, std::system_category());
}

tl::expected<unique_fd, error> listen_unix(const std::string& path) {
    auto addr = unix_address(path);
    if (!addr) return tl::unexpected(addr.error());
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return failed("socket");
    ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) < 0) return failed("bind " + path);
    if (::listen(fd.get(), 8) < 0) return failed("listen " + path);
    return fd;
}

tl::expected<unique_fd, std::error_code> accept_one(int listener) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return tl::unexpected(last_error());
    return unique_fd(fd);
}

tl::expected<std::size_t, std::error_code> send_with_fds(int fd, std::string_view bytes, std::span<const int> fds) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control;
    if (!fds.empty()) {
        control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    for (;;) {
        const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return tl::unexpected(last_error());
    }
}

}  // namespace qwire::epoll
