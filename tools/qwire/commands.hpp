// tools/qwire/commands.hpp — the `qwire` subcommands, each a function from parsed options to an
// exit status. main.cpp parses the command line with CLI11 and calls one of them.
//
// Exit statuses, the same for every subcommand:
//   0  success
//   1  QEMU answered with an error (class and desc on stderr), or `events` ended before --count
//   2  connection problem: bad socket path, refused, closed, timed out, protocol violation
//   64 bad usage: unknown option, malformed argument (nothing was sent)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "output.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/error.hpp"

namespace qwire::tool {

inline constexpr int exit_ok = 0;
inline constexpr int exit_error_reply = 1;
inline constexpr int exit_connection = 2;
inline constexpr int exit_usage = 64;

struct exec_settings {
    std::string socket;
    std::vector<std::string> words;  ///< COMMAND [ARGS…]
    double timeout_s = 30;
    bool qga = false;
    bool oob = false;
    bool pretty = false;
};
int run_exec(const exec_settings& s);

struct events_settings {
    std::string socket;
    std::vector<std::string> filter;   ///< event names; empty: all
    std::optional<unsigned> count;     ///< stop after this many
    std::optional<double> timeout_s;   ///< stop after this long
};
int run_events(const events_settings& s);

struct shell_settings {
    std::string socket;
    bool qga = false;
    bool oob = false;
    std::string log_file;
    std::string history_file;          ///< empty: $XDG_STATE_HOME/qwire/history (or ~/.local/state)
    colour_mode colour = colour_mode::automatic;
    double timeout_s = 30;             ///< per command
};
int run_shell(const shell_settings& s);

struct mock_settings {
    std::string socket;
    std::string schema_file;
    std::string script_file;
    bool once = false;                 ///< exit when the first client leaves
    bool pretty = false;
};
int run_mock(const mock_settings& s);

/// One listening socket of the proxy and what its clients may do.
struct proxy_listen {
    std::string path;
    std::vector<std::string> deny;    ///< commands refused on this socket
    std::vector<std::string> events;  ///< events its clients receive; empty: all
};

struct proxy_settings {
    std::string upstream;             ///< QEMU's QMP socket
    std::vector<proxy_listen> listens;
    std::string record_dir;           ///< when set: every client session recorded there
    std::size_t max_backlog = std::size_t{8} << 20;  ///< unread bytes after which a client is cut off
};
int run_proxy(const proxy_settings& s);

/// One line on why a connection failed or ended: the OS's words when it refused
/// ("PATH: No such file or directory"), qwire's otherwise.
[[nodiscard]] std::string connection_problem(const std::string& socket, const error& e);

/// Blocks SIGINT and SIGTERM and returns a signalfd that reads them, for a loop to watch
/// (mock and proxy end cleanly on either, removing their sockets).
[[nodiscard]] epoll::unique_fd termination_signals();

/// Prints "qwire: TEXT" on stderr; returns `status`.
int fail(int status, const std::string& text);

}  // namespace qwire::tool
