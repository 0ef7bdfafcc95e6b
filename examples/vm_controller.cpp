// vm_controller: an event-driven VM controller on the epoll adapter, the program that
// docs/guide.md builds up. It connects to QEMU's QMP socket, resumes the VM when it is not
// running, prints every event as it comes, and exits when QEMU goes away.
//
//   vm_controller /run/vm/qmp.sock      (or unix:PATH, or HOST:PORT)
//
// Exit status: 0 when QEMU closed the connection (it quit), 1 when the session ended otherwise.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <variant>

#include "qwire/epoll/qmp_connection.hpp"

namespace {

namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;
using namespace std::chrono_literals;

class controller {
public:
    explicit controller(epoll::loop& loop) : loop_(&loop) {}

    /// The connection's handler: every event of the session, in the order QEMU caused them.
    void on_event(epoll::qmp_connection& conn, qmp::client_event& event) {
        std::visit([&](auto& e) { handle(conn, e); }, event);
    }

    [[nodiscard]] int exit_status() const { return clean_end_ ? 0 : 1; }

private:
    void send(epoll::qmp_connection& conn, const std::string& command) {
        // Refusals come back at once (invalid_state, queue_full, …); everything else arrives
        // later as exactly one reply, error_reply or request_failed for this id.
        auto id = conn.execute(command);
        if (id) {
            commands_[id->value] = command;
        } else {
            std::printf("not sent: %s: %s\n", command.c_str(), id.error().message().c_str());
        }
    }

    std::string take(qwire::request_id id) {
        auto command = commands_[id.value];
        commands_.erase(id.value);
        return command;
    }

    void handle(epoll::qmp_connection&, qmp::greeting& g) {
        std::printf("greeting: %s\n", g.version.dump().c_str());
    }
    void handle(epoll::qmp_connection& conn, qmp::ready& r) {
        std::printf("ready (out-of-band commands %s)\n", r.oob_enabled ? "on" : "off");
        send(conn, "query-status");
    }
    void handle(epoll::qmp_connection& conn, qmp::reply& r) {
        const auto command = take(r.id);
        std::printf("%s -> %s\n", command.c_str(), r.value.dump().c_str());
        if (command == "query-status" && !r.value.value("running", false)) send(conn, "cont");
    }
    void handle(epoll::qmp_connection&, qmp::error_reply& r) {
        std::printf("%s failed: %s: %s\n", take(r.id).c_str(), r.error_class.c_str(), r.desc.c_str());
    }
    void handle(epoll::qmp_connection&, qmp::event& e) {
        std::printf("event %s%s%s\n", e.name.c_str(), e.data.is_null() ? "" : " ", e.data.is_null() ? "" : e.data.dump().c_str());
    }
    void handle(epoll::qmp_connection&, qmp::no_reply& r) { take(r.id); }
    void handle(epoll::qmp_connection&, qwire::request_failed& f) {
        // timed_out (the session goes on), cancelled, or connection_lost (a disconnect follows).
        std::printf("%s: no reply: %s\n", take(f.id).c_str(), f.error.message().c_str());
    }
    void handle(epoll::qmp_connection&, qwire::protocol_violation& v) {
        std::printf("QEMU broke the protocol (the session goes on): %s\n", v.error.message().c_str());
    }
    void handle(epoll::qmp_connection&, qwire::disconnect& d) {
        // Always the last event: the connection has closed the socket.
        std::printf("disconnected: %s\n", d.reason.message().c_str());
        clean_end_ = d.reason.code() == qwire::errc::peer_closed;
        loop_->stop();
    }

    epoll::loop* loop_;
    std::map<std::uint64_t, std::string> commands_;  // request id -> command name
    bool clean_end_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: vm_controller QMP-SOCKET\n");
        return 1;
    }
    auto where = epoll::endpoint::parse(argv[1]);
    auto loop = epoll::loop::create();
    if (!where || !loop) {
        std::fprintf(stderr, "vm_controller: %s\n", (!where ? where.error() : loop.error()).message().c_str());
        return 1;
    }
    epoll::connection_options options;
    options.handshake_timeout = 5s;           // greeting and negotiation, or the session ends
    options.client.command_timeout = 10s;     // each command, or request_failed with timed_out
    controller control(*loop);
    auto conn = epoll::qmp_connection::connect(*loop, *where, options,
        [&](epoll::qmp_connection& c, qmp::client_event& e) { control.on_event(c, e); });
    if (!conn) {
        std::fprintf(stderr, "vm_controller: %s\n", conn.error().message().c_str());
        return 1;
    }
    if (auto ran = loop->run(); !ran) {
        std::fprintf(stderr, "vm_controller: %s\n", ran.error().message().c_str());
        return 1;
    }
    return control.exit_status();
}
