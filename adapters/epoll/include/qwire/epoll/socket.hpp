/// \file
/// \brief Endpoints and the few socket calls the adapters share.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

#include "qwire/export.hpp"
#include "qwire/error.hpp"

namespace qwire::epoll {

/// Where a QMP server listens: a Unix socket path, or a TCP host and port.
struct QWIRE_API endpoint {
    /// The transport.
    enum class kind : std::uint8_t { unix_socket, tcp };
    kind type = kind::unix_socket;  ///< which of the members below apply
    std::string path;  ///< unix_socket
    std::string host;  ///< tcp: a name or an address (IPv6 without brackets)
    std::uint16_t port = 0;  ///< tcp

    /// "unix:PATH", "tcp:HOST:PORT", "HOST:PORT", "[V6]:PORT", or a path (anything with a '/',
    /// or without a ':'). invalid_argument when it is none of these.
    [[nodiscard]] static tl::expected<endpoint, error> parse(std::string_view text);
    /// The endpoint written so that parse() reads it back.
    [[nodiscard]] std::string to_string() const;
};

/// An owned file descriptor, closed on destruction.
class QWIRE_API unique_fd {
public:
    unique_fd() = default;
    /// Takes ownership of `fd`.
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    /// Takes the descriptor; `o` is left empty.
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    /// Closes the current descriptor and takes `o`'s; `o` is left empty.
    unique_fd& operator=(unique_fd&& o) noexcept;
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    /// The descriptor, still owned; -1 when empty.
    [[nodiscard]] int get() const noexcept { return fd_; }
    /// True when it holds a descriptor.
    [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Closes the current descriptor and takes `fd`.
    void reset(int fd = -1) noexcept;
    /// Gives up ownership: returns the descriptor and leaves this empty.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_ = -1;
};

/// Starts a non-blocking connect. On success the socket is connected or connecting
/// (`in_progress`): wait for it to be writable, then call finish_connect(). Host names are
/// resolved with getaddrinfo (blocking; pass an address to avoid it). Errors: connection_lost
/// with the OS error (ENOENT, ECONNREFUSED, …) as cause; invalid_argument for a bad host. A
/// Unix socket whose listener's backlog is full gives EAGAIN at once: not connected, try again.
[[nodiscard]] QWIRE_API tl::expected<unique_fd, error> start_connect(const endpoint& where, bool& in_progress);

/// The outcome of a connect that was in progress (SO_ERROR); empty when it succeeded.
[[nodiscard]] QWIRE_API std::error_code finish_connect(int fd);

/// A listening non-blocking Unix socket at `path` (an old socket file there is replaced).
[[nodiscard]] QWIRE_API tl::expected<unique_fd, error> listen_unix(const std::string& path);

/// Accepts one connection, non-blocking; an error_code of EAGAIN when none is waiting.
[[nodiscard]] QWIRE_API tl::expected<unique_fd, std::error_code> accept_one(int listener);

/// One sendmsg(): the bytes, with `fds` as SCM_RIGHTS when not empty; never raises SIGPIPE.
/// Returns the bytes sent, or the OS error (EAGAIN when the socket is full).
[[nodiscard]] QWIRE_API tl::expected<std::size_t, std::error_code> send_with_fds(int fd, std::string_view bytes,
                                                                               std::span<const int> fds);

}  // namespace qwire::epoll
