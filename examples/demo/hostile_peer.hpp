// A fake QEMU that turns hostile, for the demo: qwire::qmp::server on a Unix socket, driven by
// the demo's own epoll loop, next to the client it attacks.
//
// It takes one connection, greets and negotiates exactly as QEMU 7.2 does (all of that is the
// server state machine's work), and answers the first command after negotiation with the bytes
// it was given instead of a reply. Then it waits for the client to hang up.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "qwire/epoll/loop.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/qmp/server.hpp"

namespace demo {

class hostile_peer final : private qwire::epoll::source {
public:
    /// Listens at `path`; `attack` is what the first command gets for an answer.
    static tl::expected<std::unique_ptr<hostile_peer>, qwire::error> listen(qwire::epoll::loop& loop,
                                                                          const std::string& path,
                                                                          std::string attack);
    hostile_peer(const hostile_peer&) = delete;
    hostile_peer& operator=(const hostile_peer&) = delete;
    ~hostile_peer() override;

    /// The command that was answered with the attack, once one was.
    [[nodiscard]] const std::optional<std::string>& attacked_command() const { return attacked_; }
    /// True once the client has hung up.
    [[nodiscard]] bool client_gone() const { return gone_; }

private:
    hostile_peer(qwire::epoll::loop& loop, qwire::epoll::unique_fd listener, std::string attack);

    void on_ready(std::uint32_t events) override;
    void on_time(qwire::time_point) override {}
    [[nodiscard]] std::optional<qwire::time_point> deadline() const override { return std::nullopt; }

    void accept_client();
    void read_client();
    void handle_server_events();
    void write_out();
    void hang_up();

    qwire::epoll::loop* loop_;
    qwire::epoll::unique_fd listener_;
    qwire::epoll::unique_fd client_;
    qwire::qmp::server server_;
    std::string attack_;
    std::string out_;  // bytes not yet taken by the socket
    std::optional<std::string> attacked_;
    bool gone_ = false;
};

}  // namespace demo
