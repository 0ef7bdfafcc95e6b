// Runs the built `qwire` program for end-to-end tests: through pipes (exit status, stdout and
// stderr apart) or on a pseudo-terminal (to type at the shell as a person does). Every process
// is killed and reaped on every exit path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "qemu_process.hpp"

namespace qwire::test {

/// The built qwire program (QWIRE_TOOL, set by meson).
std::string tool_path();

struct run_result {
    int status = -1;  ///< exit status, or 128 + signal
    std::string out;
    std::string err;
};

/// Runs `qwire ARGS…` with `input` on stdin; kills it after `timeout`.
run_result run_tool(const std::vector<std::string>& args, const std::string& input = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A program started in the background through pipes (e.g. `qwire events` or `qwire mock`),
/// with `input` (at most 60000 bytes) then end of file on its stdin.
class background_tool {
public:
    explicit background_tool(const std::vector<std::string>& args, const std::string& input = {});
    background_tool(const background_tool&) = delete;
    background_tool& operator=(const background_tool&) = delete;
    ~background_tool();
    [[nodiscard]] pid_t pid() const { return pid_; }
    /// Waits for it to exit and collects its output; status -1 when it did not in time.
    run_result finish(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    /// Reads output until stderr contains `text`.
    bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Reads output until stdout contains `text`.
    bool wait_for_stdout(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    void read_available(int wait_ms);
    bool wait_for(std::string run_result::*stream, const std::string& text, std::chrono::milliseconds timeout);
    pid_t pid_ = -1;
    int out_fd_ = -1, err_fd_ = -1;
    run_result result_;
};

/// `qwire ARGS…` on a pseudo-terminal (TERM=xterm, 100x40).
class terminal_session {
public:
    explicit terminal_session(const std::vector<std::string>& args);
    terminal_session(const terminal_session&) = delete;
    terminal_session& operator=(const terminal_session&) = delete;
    ~terminal_session();
    /// Types `keys` as they are ("\t" for Tab, "\r" for Enter, "\033[A" for Up).
    void type(const std::string& keys);
    /// Reads until what has come since the last expect() contains `text`; false after timeout.
    bool expect(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Everything read since the last successful expect().
    [[nodiscard]] const std::string& unread() const { return seen_; }
    /// Waits for the program to exit: its status, or nullopt.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));

private:
    pid_t pid_ = -1;
    int master_ = -1;
    std::string seen_;
};

/// A QEMU (-machine pc -S) with two QMP monitors, so that one can watch while the other acts.
struct two_monitor_qemu {
    std::optional<qemu_process> qemu;
    std::string watch_socket;  ///< the first monitor
    std::string act_socket;    ///< the second monitor
};
/// Starts one; `why_not` says why not (empty: QEMU is not installed).
std::optional<two_monitor_qemu> start_two_monitor_qemu(std::string& why_not);

}  // namespace qwire::test

/// Declares `var`, a running two_monitor_qemu, skipping or failing like QWIRE_START_QEMU.
#define QWIRE_START_TWO_MONITOR_QEMU(var)                                                \
    std::string var##_why_not;                                                           \
    auto var = ::qwire::test::start_two_monitor_qemu(var##_why_not);                     \
    if (!var) {                                                                          \
        if (var##_why_not.empty()) QWIRE_SKIP("qemu-system-x86_64 is not installed");    \
        FAIL(var##_why_not);                                                             \
    }

namespace qwire::test {

}  // namespace qwire::test
