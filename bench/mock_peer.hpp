// An in-process fake QEMU for the load benchmarks: qwire::qmp::server on one end of a
// socketpair, served from an epoll loop. It answers every command at once with a query-status
// reply; when flooding, it also emits `burst` events every millisecond once negotiated (what
// the socket does not take waits in the server's output, up to its 16 MiB limit).
#pragma once

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "qwire/epoll/loop.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/qmp/server.hpp"

namespace qwire::bench {

class mock_peer final : public epoll::source {
public:
    mock_peer(epoll::loop& loop, epoll::unique_fd fd, int burst = 0)
        : loop_(&loop), fd_(std::move(fd)), burst_(burst) {
        (void)loop_->add(fd_.get(), EPOLLIN | EPOLLOUT, this);
        if (burst_ > 0) {
            next_burst_ = epoll::loop::now();
            loop_->watch(this);
        }
        flush();
    }
    mock_peer(const mock_peer&) = delete;
    mock_peer& operator=(const mock_peer&) = delete;
    ~mock_peer() override {
        loop_->remove(fd_.get(), this);
        if (burst_ > 0) loop_->unwatch(this);
    }

    void on_ready(std::uint32_t events) override {
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_all();
        flush();
    }
    void on_time(time_point now) override {
        if (!next_burst_ || now < *next_burst_) return;
        if (server_.state() == qmp::server_state::ready) {
            for (int i = 0; i < burst_; ++i) (void)server_.emit_event("BENCH_FLOOD", nullptr, {1, 2});
        }
        next_burst_ = now + std::chrono::milliseconds(1);
        flush();
    }
    [[nodiscard]] std::optional<time_point> deadline() const override { return next_burst_; }

private:
    void read_all() {
        std::array<char, 16 * 1024> buffer;
        for (ssize_t n; (n = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT)) > 0;) {
            (void)server_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        }
        while (auto e = server_.next_event()) {
            if (auto* c = std::get_if<qmp::command>(&*e)) {
                (void)server_.reply(c->id, {{"status", "running"}, {"singlestep", false}, {"running", true}});
            }
        }
    }

    void flush() {
        for (auto out = server_.pending_output(); !out.bytes.empty(); out = server_.pending_output()) {
            const ssize_t n = ::send(fd_.get(), out.bytes.data(), out.bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n <= 0) break;
            server_.consume_output(static_cast<std::size_t>(n));
        }
        // Writable events are wanted only while output waits.
        const std::uint32_t wanted = EPOLLIN | (server_.pending_output().bytes.empty() ? 0u : EPOLLOUT);
        if (wanted != interest_ && loop_->modify(fd_.get(), wanted, this)) interest_ = wanted;
    }

    epoll::loop* loop_;
    epoll::unique_fd fd_;
    qmp::server server_;
    int burst_;
    std::optional<time_point> next_burst_;
    std::uint32_t interest_ = EPOLLIN | EPOLLOUT;
};

/// A connected pair of Unix stream sockets: {client end, server end}.
inline std::pair<epoll::unique_fd, epoll::unique_fd> socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        std::perror("socketpair");
        std::exit(1);
    }
    return {epoll::unique_fd(fds[0]), epoll::unique_fd(fds[1])};
}

/// Raises the soft limit on open descriptors toward `wanted`, up to the hard limit (raising
/// that needs CAP_SYS_RESOURCE). Returns the limit now in force.
inline rlim_t raise_fd_limit(rlim_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < wanted) {
        rlimit raised = limit;
        raised.rlim_cur = std::min(wanted, limit.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur;
}

/// This process's resident memory in bytes (VmRSS).
inline std::size_t resident_bytes() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
    }
    return 0;
}

}  // namespace qwire::bench
