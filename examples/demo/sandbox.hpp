// The demo's QEMU and the private folder it lives in.
//
// sandbox::start() makes a temporary folder (under $TMPDIR, else /tmp), starts
// `qemu-system-x86_64 -machine pc -accel tcg -S -m 64 -nodefaults -display none` with two QMP
// monitors on Unix sockets in that folder (one for the blocking client, one for the event
// loop: QEMU serves one client per monitor), and waits until both listen.
//
// Nothing is left behind on any way out: the destructor kills and reaps QEMU and removes the
// folder; clean_up_on_signals() makes SIGINT (Ctrl-C), SIGTERM and SIGHUP do the same from a
// signal handler that only makes async-signal-safe calls, then exit with 128 + the signal; and
// QEMU dies with the demo whatever kills it (PR_SET_PDEATHSIG, set by the process helper).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qemu_process.hpp"

namespace demo {

/// The files the demo makes in its folder; nothing else is ever put there.
inline constexpr std::string_view sync_socket = "qmp-sync.sock";  ///< QEMU's monitor for sync_client
inline constexpr std::string_view loop_socket = "qmp-loop.sock";  ///< QEMU's monitor for the epoll loop
inline constexpr std::string_view mock_socket = "mock.sock";      ///< the in-process fake QEMU
inline constexpr std::string_view qemu_log = "qemu.log";          ///< QEMU's stdout and stderr

/// Installs the SIGINT/SIGTERM/SIGHUP handlers. Call once, before sandbox::start().
void clean_up_on_signals();

class sandbox {
public:
    /// Starts QEMU and waits for its sockets. nullptr with the reason when it cannot; an empty
    /// reason means qemu-system-x86_64 is not installed.
    static std::unique_ptr<sandbox> start(std::string& why_not);
    sandbox(const sandbox&) = delete;
    sandbox& operator=(const sandbox&) = delete;
    ~sandbox();  // kills and reaps QEMU if it still runs, removes the folder

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const std::string& folder() const { return dir_->path(); }
    [[nodiscard]] std::string file(std::string_view name) const { return dir_->file(std::string(name)); }
    /// The command line QEMU was started with, for showing.
    [[nodiscard]] const std::vector<std::string>& command_line() const { return argv_; }
    /// What QEMU printed.
    [[nodiscard]] std::string log() const;

    /// Waits up to `timeout` for QEMU to exit by itself (after `quit`); its wait status.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
    sandbox() = default;
    std::optional<qwire::test::temp_dir> dir_;
    std::optional<qwire::test::child_process> qemu_;
    pid_t pid_ = -1;
    std::vector<std::string> argv_;
};

}  // namespace demo
