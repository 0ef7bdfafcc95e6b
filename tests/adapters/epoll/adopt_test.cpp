// connection::adopt on one end of a socketpair, with the QMP server (the sans-I/O fake QEMU)
// pumped by hand on the other end: no QEMU, no clock beyond the loop's own.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "in_process_server.hpp"
#include "qwire/epoll/qmp_connection.hpp"
#include "qwire/qmp/server.hpp"
#include "testing.hpp"

using namespace std::chrono_literals;

using qwire::test::pump;

TEST_CASE("epoll adopt: a session on a socketpair, then finished when the peer closes") {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    qwire::epoll::unique_fd peer(pair[1]);
    qwire::qmp::server server;
    auto loop = qwire::epoll::loop::create().value();
    std::vector<std::string> seen;
    qwire::epoll::qmp_connection::options_type options;
    options.reconnect = qwire::epoll::reconnect_policy{};  // ignored: nothing to dial again
    auto c = qwire::epoll::qmp_connection::adopt(
        loop, qwire::epoll::unique_fd(pair[0]), options,
        [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
            if (std::holds_alternative<qwire::qmp::ready>(e)) seen.emplace_back("ready");
            if (auto* r = std::get_if<qwire::qmp::reply>(&e)) seen.push_back(r->value.dump());
            if (std::holds_alternative<qwire::disconnect>(e)) seen.emplace_back("disconnect");
        });
    REQUIRE(c->execute("query-status"));
    for (int i = 0; i < 100 && seen.size() < 2; ++i) {
        pump(server, peer.get());
        REQUIRE(loop.run_once(100ms));
    }
    CHECK(seen == std::vector<std::string>{"ready", R"({"status":"running"})"});
    CHECK(c->client().oob_enabled());
    peer.reset();
    for (int i = 0; i < 100 && !c->finished(); ++i) REQUIRE(loop.run_once(100ms));
    CHECK(seen.back() == "disconnect");
    CHECK(c->finished());
}

TEST_CASE("epoll adopt: write_at_once writes a command before execute() returns, else the loop does") {
    for (const bool at_once : {false, true}) {
        INFO("write_at_once " << at_once);
        int pair[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        qwire::epoll::unique_fd peer(pair[1]);
        qwire::qmp::server server;
        auto loop = qwire::epoll::loop::create().value();
        bool ready = false;
        qwire::epoll::qmp_connection::options_type options;
        options.write_at_once = at_once;
        auto c = qwire::epoll::qmp_connection::adopt(
            loop, qwire::epoll::unique_fd(pair[0]), options,
            [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
                ready = ready || std::holds_alternative<qwire::qmp::ready>(e);
            });
        for (int i = 0; i < 100 && !ready; ++i) {
            pump(server, peer.get());
            REQUIRE(loop.run_once(100ms));
        }
        REQUIRE(ready);
        pump(server, peer.get());  // the negotiation's reply, if any is left
        REQUIRE(c->execute("query-status"));
        char buffer[256];
        const ssize_t n = ::recv(peer.get(), buffer, sizeof buffer, MSG_DONTWAIT | MSG_PEEK);
        INFO(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0));
        if (at_once) {
            CHECK(std::string_view(buffer, n > 0 ? static_cast<std::size_t>(n) : 0).starts_with(R"({"execute":"query-status")"));
        } else {
            CHECK(n < 0);
            REQUIRE(loop.run_once(100ms));
            CHECK(::recv(peer.get(), buffer, sizeof buffer, MSG_DONTWAIT | MSG_PEEK) > 0);
        }
    }
}
