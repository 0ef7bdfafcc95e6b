// A qmp::server (the sans-I/O fake QEMU) pumped by hand on one end of a socket, for epoll
// tests that need no QEMU.
#pragma once

#include <sys/socket.h>

#include <string_view>
#include <variant>

#include "qwire/qmp/server.hpp"
#include "testing.hpp"

namespace qwire::test {

// Moves bytes between the server and its end of the socket and answers every command.
inline void pump(qwire::qmp::server& server, int fd) {
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0;) {
        REQUIRE(server.receive(std::string_view(buffer, static_cast<std::size_t>(n))));
    }
    while (auto e = server.next_event()) {
        if (auto* c = std::get_if<qwire::qmp::command>(&*e)) REQUIRE(server.reply(c->id, {{"status", "running"}}));
    }
    for (auto out = server.pending_output(); !out.bytes.empty(); out = server.pending_output()) {
        const ssize_t n = ::send(fd, out.bytes.data(), out.bytes.size(), MSG_DONTWAIT);
        REQUIRE(n > 0);
        server.consume_output(static_cast<std::size_t>(n));
    }
}

}  // namespace qwire::test
