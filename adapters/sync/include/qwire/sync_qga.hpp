/// \file
/// \brief A blocking guest-agent client.
///
/// connect() dials qemu-ga's socket and synchronises (0xFF, then guest-sync-delimited with a
/// fresh random token) before it returns, so stale bytes from earlier clients are never taken
/// for replies. Each call then waits for its own reply.
///
///     auto ga = qwire::sync_qga::connect("/run/vm/qga.sock").value();
///     auto info = ga.execute("guest-info");             // tl::expected<json, qwire::error>
///
/// Errors: command_failed for an error reply (error_class(), detail()); timed_out (the client
/// then distrusts the stream: call sync() before the next command); invalid_state or the
/// disconnect reason once the session is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/export.hpp"
#include "qwire/epoll/connection.hpp"
#include "qwire/qga/client.hpp"

namespace qwire {

namespace sync_detail {
template <class Client>
class blocking;
}

/// A blocking guest-agent client (see the file comment). Not thread-safe; movable.
class QWIRE_API sync_qga {
public:
    using options_type = epoll::basic_connection_options<qga::client_options>;  ///< limits and timeouts

    /// Connects to qemu-ga's socket ("PATH", "unix:PATH" or "HOST:PORT") and synchronises
    /// within `timeout`. Errors: invalid_argument (bad endpoint), connection_lost (cause: the OS
    /// error), handshake_timed_out when the agent does not answer (is it running in the guest?).
    [[nodiscard]] static tl::expected<sync_qga, error> connect(std::string_view where,
                                                               duration timeout = std::chrono::seconds(10),
                                                               options_type options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    sync_qga(sync_qga&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    sync_qga& operator=(sync_qga&&) noexcept;
    ~sync_qga();

    // Getters.
    /// The protocol client: state and counters.
    [[nodiscard]] const qga::client& client() const;
    /// False once the session has ended (then every call returns invalid_state).
    [[nodiscard]] bool is_connected() const;

    // Commands.
    /// Runs a command and waits up to `timeout` for its reply: the `return` value, or an error
    /// (see the file comment; after timed_out call sync() before the next command).
    tl::expected<nlohmann::json, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                                duration timeout = std::chrono::seconds(30));
    /// For commands that never answer on success (guest-shutdown, guest-suspend-*): succeeds
    /// when `wait` passes with no error reply.
    tl::expected<void, error> execute_no_reply(std::string_view command, nlohmann::json arguments, duration wait);
    /// Synchronises again (after a timeout, or to check the agent is alive).
    tl::expected<void, error> sync(duration timeout = std::chrono::seconds(10));

private:
    using blocking = sync_detail::blocking<qga::client>;
    explicit sync_qga(std::unique_ptr<blocking> b);
    std::unique_ptr<blocking> impl_;
};

}  // namespace qwire
