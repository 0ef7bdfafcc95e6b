// Dialing a Unix socket whose listen backlog is full. QEMU listens with a backlog of 1, so a
// slow QEMU (or another client's connection it has not accepted yet) makes a non-blocking
// connect fail at once with EAGAIN, and the socket is not connected. The connection must dial
// again until the listener has room or the connect timeout passes, never take the refused
// socket for a connected one.
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "in_process_server.hpp"
#include "qemu_process.hpp"
#include "qwire/epoll/qmp_connection.hpp"
#include "testing.hpp"

using namespace std::chrono_literals;
namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;

namespace {

sockaddr_un address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

// A Unix listener with a backlog of 0, and connections that fill it until connect says EAGAIN.
struct full_listener {
    explicit full_listener(const std::string& path) {
        listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        const sockaddr_un addr = address_of(path);
        REQUIRE(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener.get(), 0) == 0);
        for (int i = 0; i < 16; ++i) {
            epoll::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
                REQUIRE(errno == EAGAIN);
                return;
            }
            fillers.push_back(std::move(fd));
        }
        FAIL("the backlog did not fill");
    }

    // Accepts what waits: the fillers (closed by now: they read EOF at once) are dropped, and
    // the first connection that is still open is returned.
    epoll::unique_fd accept_dialer() {
        for (int fd; (fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
            epoll::unique_fd accepted(fd);
            char byte;
            if (::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN) return accepted;
        }
        return {};
    }

    epoll::unique_fd listener;
    std::vector<epoll::unique_fd> fillers;
};

struct seen {
    bool ready = false;
    int replies = 0;
    std::optional<qwire::error> ended;

    epoll::qmp_connection::event_handler handler() {
        return [this](epoll::qmp_connection&, qmp::client_event& e) {
            ready = ready || std::holds_alternative<qmp::ready>(e);
            replies += std::holds_alternative<qmp::reply>(e);
            if (auto* d = std::get_if<qwire::disconnect>(&e)) ended = d->reason;
        };
    }
};

// A connection dialing a full listener in a private folder, with what its handler saw.
struct busy_dial {
    explicit busy_dial(qwire::duration connect_timeout) {
        epoll::connection_options options;
        options.connect_timeout = connect_timeout;
        conn = epoll::qmp_connection::connect(loop, *epoll::endpoint::parse(path), options, s.handler()).value();
    }

    qwire::test::temp_dir dir;
    std::string path = dir.file("busy.sock");
    full_listener busy{path};
    epoll::loop loop = epoll::loop::create().value();
    seen s;
    qwire::time_point started = epoll::loop::now();
    std::unique_ptr<epoll::qmp_connection> conn;
};

}  // namespace

TEST_CASE("epoll connect: a Unix listener with a full backlog is dialled again until it has room") {
    busy_dial d(10s);
    REQUIRE(d.conn->execute("query-status"));
    for (int i = 0; i < 10; ++i) REQUIRE(d.loop.run_once(5ms));  // refused all along: still dialing
    CHECK_FALSE(d.s.ended.has_value());
    CHECK_FALSE(d.conn->is_ready());

    d.busy.fillers.clear();  // room in the backlog once the listener accepts what waits
    qmp::server server;
    epoll::unique_fd peer;
    for (int i = 0; i < 400 && d.s.replies == 0 && !d.s.ended; ++i) {
        if (!peer) peer = d.busy.accept_dialer();
        if (peer) qwire::test::pump(server, peer.get());
        REQUIRE(d.loop.run_once(5ms));
    }
    INFO((d.s.ended ? d.s.ended->message() : std::string("no disconnect")));
    CHECK(d.s.ready);
    CHECK(d.s.replies == 1);
    CHECK_FALSE(d.s.ended.has_value());
}

TEST_CASE("epoll connect: a backlog that stays full ends the dial at the connect timeout") {
    busy_dial d(100ms);
    for (int i = 0; i < 400 && !d.s.ended; ++i) REQUIRE(d.loop.run_once(10ms));
    REQUIRE(d.s.ended.has_value());
    CHECK(d.s.ended->code() == qwire::errc::connection_lost);
    CHECK(d.s.ended->cause() == std::errc::timed_out);
    CHECK(epoll::loop::now() - d.started >= 100ms);
    CHECK(d.conn->finished());
}
