/// \file
/// \brief A blocking QMP client for scripts and tests.
///
/// Each call runs a private epoll loop until its answer arrives or its timeout passes, so the
/// client needs no thread and no event loop of the caller's. QEMU events that arrive while a
/// call waits are kept, in order, for wait_event() and events(): nothing is lost (up to
/// client_options::max_undelivered_events; beyond it the oldest are dropped and counted).
///
///     auto qemu = qwire::sync_client::connect("/run/vm/qmp.sock").value();
///     auto status = qemu.execute("query-status");            // expected<json, error>
///     if (!status && status.error().code() == qwire::errc::command_failed)
///         std::cerr << status.error().error_class() << ": " << status.error().detail();
///
/// Errors from every call: invalid_state once the connection is over (connect again);
/// timed_out when the call's timeout passed (the session goes on; a late reply is dropped);
/// command_failed for an error reply (error_class() and detail() hold QEMU's class and desc);
/// connection_lost / peer_closed / a peer violation when the session ended during the call.
///
/// Not thread-safe; movable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/export.hpp"
#include "qwire/epoll/qmp_connection.hpp"

namespace qwire {

/// A blocking QMP client (see the file comment). Not thread-safe; movable.
class QWIRE_API sync_client {
public:
    /// Connects to "PATH", "unix:PATH" or "HOST:PORT" and completes the handshake within
    /// `timeout`. Errors: invalid_argument (bad endpoint), connection_lost (cause: the OS error,
    /// e.g. ENOENT, ECONNREFUSED, or timed_out), handshake_timed_out, a peer violation.
    [[nodiscard]] static tl::expected<sync_client, error> connect(
        std::string_view where, duration timeout = std::chrono::seconds(10), epoll::connection_options options = {});

    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    sync_client(sync_client&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    sync_client& operator=(sync_client&&) noexcept;
    ~sync_client();

    // Getters.
    /// QEMU's greeting: its version and capabilities.
    [[nodiscard]] const qmp::greeting& greeting() const;
    /// True when out-of-band commands were negotiated (exec_options::oob may be used).
    [[nodiscard]] bool oob_enabled() const;
    /// False once the session has ended (then every call returns invalid_state).
    [[nodiscard]] bool is_connected() const;
    /// QEMU events dropped because max_undelivered_events were waiting.
    [[nodiscard]] std::uint64_t events_dropped() const;
    /// Why the session ended (the disconnect reason, e.g. peer_closed after quit), once it has.
    [[nodiscard]] const std::optional<error>& disconnect_reason() const;

    // Commands.
    /// Runs a command and waits for its reply: the `return` value, or an error (see above).
    tl::expected<nlohmann::json, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                                duration timeout = std::chrono::seconds(30));
    /// The same with full control: OOB, file descriptors (SCM_RIGHTS), custom id.
    tl::expected<nlohmann::json, error> execute(std::string_view command, nlohmann::json arguments,
                                                qmp::exec_options options, duration timeout);
    /// execute() passing `fds` with the command (for getfd and add-fd). The descriptors stay
    /// the caller's.
    tl::expected<nlohmann::json, error> execute_with_fds(std::string_view command, nlohmann::json arguments,
                                                         std::vector<int> fds,
                                                         duration timeout = std::chrono::seconds(30));
    /// The first event named `name` (any event when empty), from those already received or
    /// arriving within `timeout`; events of other names stay queued. timed_out if none came.
    tl::expected<qmp::event, error> wait_event(std::string_view name, duration timeout);
    /// Takes every event received so far, in order.
    std::vector<qmp::event> events();
    /// Closes the session; pending nothing (calls are blocking). invalid_state if already over.
    tl::expected<void, error> close();

private:
    struct impl;
    explicit sync_client(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace qwire
