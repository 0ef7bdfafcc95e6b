#include "qwire/epoll/socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "testing.hpp"

using qwire::epoll::endpoint;

TEST_CASE("epoll endpoint: paths, unix:, tcp:, host:port and [v6]:port") {
    auto path = endpoint::parse("/run/qemu/qmp.sock");
    REQUIRE(path);
    CHECK(path->type == endpoint::kind::unix_socket);
    CHECK(path->path == "/run/qemu/qmp.sock");
    CHECK(endpoint::parse("qmp.sock")->path == "qmp.sock");
    CHECK(endpoint::parse("unix:rel:with:colons")->path == "rel:with:colons");
    auto tcp = endpoint::parse("localhost:4444");
    REQUIRE(tcp);
    CHECK(tcp->type == endpoint::kind::tcp);
    CHECK(tcp->host == "localhost");
    CHECK(tcp->port == 4444);
    CHECK(endpoint::parse("tcp:127.0.0.1:1")->to_string() == "tcp:127.0.0.1:1");
    auto v6 = endpoint::parse("[::1]:5555");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->to_string() == "tcp:[::1]:5555");
}

TEST_CASE("epoll endpoint: malformed endpoints are invalid_argument") {
    for (const char* bad : {"", "host:", "host:0", "host:65536", "host:12x", ":80", "tcp:nohost"}) {
        INFO(bad);
        auto e = endpoint::parse(bad);
        REQUIRE_FALSE(e);
        CHECK(e.error().code() == qwire::errc::invalid_argument);
    }
}

TEST_CASE("epoll socket: send_with_fds passes descriptors with the bytes") {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    qwire::epoll::unique_fd a(pair[0]), b(pair[1]);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    qwire::epoll::unique_fd r(pipe_fds[0]), w(pipe_fds[1]);
    const int to_send[] = {w.get()};
    auto sent = qwire::epoll::send_with_fds(a.get(), "getfd", to_send);
    REQUIRE(sent);
    CHECK(*sent == 5);

    char data[16];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    REQUIRE(::recvmsg(b.get(), &msg, 0) == 5);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    REQUIRE(c != nullptr);
    CHECK(c->cmsg_type == SCM_RIGHTS);
    int received = -1;
    std::memcpy(&received, CMSG_DATA(c), sizeof received);
    qwire::epoll::unique_fd got(received);
    // The received descriptor is the pipe's write end: what goes in comes out of `r`.
    REQUIRE(::write(got.get(), "x", 1) == 1);
    char x = 0;
    REQUIRE(::read(r.get(), &x, 1) == 1);
    CHECK(x == 'x');
}

TEST_CASE("epoll socket: connecting to a missing Unix socket fails at once with ENOENT") {
    bool in_progress = false;
    auto fd = qwire::epoll::start_connect(*endpoint::parse("/nonexistent/qwire/none.sock"), in_progress);
    REQUIRE_FALSE(fd);
    CHECK(fd.error().code() == qwire::errc::connection_lost);
    CHECK(fd.error().cause() == std::errc::no_such_file_or_directory);
}
