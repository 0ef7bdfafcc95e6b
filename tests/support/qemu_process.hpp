// Starts a real QEMU (or qemu-ga, or any peer program) for integration tests and benchmarks,
// in a private temporary folder, and kills and reaps it on every exit path: the destructor
// sends SIGKILL and waits, and the child also dies with the test process (PR_SET_PDEATHSIG).
// Free of Catch2 so benchmarks can use it too.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace qwire::test {

/// The full path of a program on PATH (or the standard sbin folders), if it is installed.
std::optional<std::string> find_program(const std::string& name);

/// A private temporary folder, removed with everything in it on destruction.
class temp_dir {
public:
    temp_dir();
    temp_dir(temp_dir&& o) noexcept;
    temp_dir& operator=(temp_dir&&) = delete;
    ~temp_dir();
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

class child_process {
public:
    /// Runs argv[0] (a full path) with stdout and stderr going to `log_path`.
    static child_process spawn(const std::vector<std::string>& argv, const std::string& log_path);
    child_process(child_process&& o) noexcept;
    child_process& operator=(child_process&&) = delete;
    ~child_process();  // SIGKILL and reap, if still running

    [[nodiscard]] pid_t pid() const { return pid_; }
    void signal(int sig) const;
    /// Waits up to `timeout` for the process to exit; its wait status, or nullopt.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    [[nodiscard]] bool running();
    void kill_and_reap();

private:
    explicit child_process(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
};

/// Waits until `path` accepts a Unix-socket connection, or the process dies, or the timeout.
bool wait_for_socket(const std::string& path, child_process& process, std::chrono::milliseconds timeout);

struct qemu_options {
    bool guest = false;                    ///< -machine pc -accel tcg -S -m 64, for events
    bool server = true;                    ///< QMP socket with server=on,wait=off; false: QEMU dials it
    std::string socket_path;               ///< default: qmp.sock in the private folder
    std::vector<std::string> extra_args;   ///< "@DIR@" is replaced by the private folder
};

/// qemu-system-x86_64 with one QMP monitor (or qtest) on a Unix socket, or qemu-ga.
class qemu_process {
public:
    /// Starts QEMU and (in server mode) waits for its socket; the error text says why not,
    /// with QEMU's own output. An empty error text means QEMU is not installed.
    static std::optional<qemu_process> start(const qemu_options& options, std::string& why_not);
    /// QEMU with `-qtest unix:SOCK,server=on,wait=off` and a pc machine: stopped (-S) unless
    /// `running`, when SeaBIOS runs under TCG and the PIT ticks.
    static std::optional<qemu_process> start_qtest(bool running, std::string& why_not);
    /// qemu-ga listening on a Unix socket, with every command blocked (-b) except the read-only
    /// ones: guest-sync-delimited, guest-sync, guest-ping, guest-info, guest-get-time,
    /// guest-get-host-name, guest-get-osinfo, guest-get-timezone. It runs on this machine.
    static std::optional<qemu_process> start_qemu_ga(std::string& why_not);

    [[nodiscard]] const std::string& socket_path() const { return socket_; }
    [[nodiscard]] const temp_dir& dir() const { return *dir_; }
    [[nodiscard]] child_process& process() { return *process_; }
    [[nodiscard]] std::string log() const;

private:
    qemu_process() = default;
    static std::optional<qemu_process> launch(std::vector<std::string> argv, const std::string& socket_name,
                                              std::string& why_not);
    std::optional<temp_dir> dir_;  // declared first: destroyed after the process is reaped
    std::string socket_;
    std::optional<child_process> process_;
};

}  // namespace qwire::test
