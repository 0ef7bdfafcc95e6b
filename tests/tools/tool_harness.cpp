// Running the built qwire program through pipes and a pseudo-terminal; see tool_harness.hpp.
#include "tool_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace qwire::test {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

[[noreturn]] void exec_tool(const std::vector<std::string>& args) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::vector<std::string> argv_strings{tool_path()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

int status_of(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return -1;
}

void kill_and_reap(pid_t& pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
}

/// Reads whatever `fd` has into `into`; false at end of file.
bool drain(int fd, std::string& into) {
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) into.append(buf, static_cast<std::size_t>(n));
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

}  // namespace

std::string tool_path() {
    const char* path = std::getenv("QWIRE_TOOL");
    if (!path || !*path) throw std::runtime_error("QWIRE_TOOL is not set (meson sets it)");
    return path;
}

run_result run_tool(const std::vector<std::string>& args, const std::string& input, milliseconds timeout) {
    background_tool tool(args, input);
    return tool.finish(timeout);
}

background_tool::background_tool(const std::vector<std::string>& args, const std::string& input) {
    // The input is written before the program runs, so it must fit in the pipe.
    if (input.size() > 60000) throw std::runtime_error("background_tool: input larger than a pipe holds");
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        exec_tool(args);
    }
    ::close(in[0]);
    for (std::size_t done = 0; done < input.size();) {
        const ssize_t n = ::write(in[1], input.data() + done, input.size() - done);
        if (n < 0 && errno != EINTR) break;
        if (n > 0) done += static_cast<std::size_t>(n);
    }
    ::close(in[1]);  // then end of file
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
}

background_tool::~background_tool() {
    kill_and_reap(pid_);
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

void background_tool::read_available(int wait_ms) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, wait_ms) <= 0) return;
    if (fds[0].revents && !drain(out_fd_, result_.out)) {
        ::close(out_fd_);
        out_fd_ = -1;
    }
    if (fds[1].revents && !drain(err_fd_, result_.err)) {
        ::close(err_fd_);
        err_fd_ = -1;
    }
}

bool background_tool::wait_for_stderr(const std::string& text, milliseconds timeout) {
    return wait_for(&run_result::err, text, timeout);
}

bool background_tool::wait_for_stdout(const std::string& text, milliseconds timeout) {
    return wait_for(&run_result::out, text, timeout);
}

bool background_tool::wait_for(std::string run_result::*stream, const std::string& text, milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    while ((result_.*stream).find(text) == std::string::npos) {
        if (steady_clock::now() >= until || (out_fd_ < 0 && err_fd_ < 0)) return false;
        read_available(50);
    }
    return true;
}

run_result background_tool::finish(milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    while ((out_fd_ >= 0 || err_fd_ >= 0) && steady_clock::now() < until) read_available(50);
    int wait_status = 0;
    while (pid_ > 0 && steady_clock::now() < until) {
        if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
            pid_ = -1;
            result_.status = status_of(wait_status);
            break;
        }
        ::usleep(10000);
    }
    kill_and_reap(pid_);
    return result_;
}

terminal_session::terminal_session(const std::vector<std::string>& args) {
    winsize size{};
    size.ws_row = 40;
    size.ws_col = 100;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ < 0) throw std::runtime_error("forkpty");
    if (pid_ == 0) {
        ::setenv("TERM", "xterm", 1);
        ::unsetenv("NO_COLOR");
        exec_tool(args);
    }
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
}

terminal_session::~terminal_session() {
    kill_and_reap(pid_);
    if (master_ >= 0) ::close(master_);
}

void terminal_session::type(const std::string& keys) {
    for (char c : keys) {  // one key at a time, as typed
        while (::write(master_, &c, 1) < 0 && errno == EINTR) {
        }
        ::usleep(2000);
    }
}

bool terminal_session::expect(const std::string& text, milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    while (true) {
        if (auto at = seen_.find(text); at != std::string::npos) {
            seen_.erase(0, at + text.size());
            return true;
        }
        if (steady_clock::now() >= until) return false;
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0 && !drain(master_, seen_)) return false;  // EIO: the program ended
    }
}

std::optional<int> terminal_session::wait_exit(milliseconds timeout) {
    const auto until = steady_clock::now() + timeout;
    while (steady_clock::now() < until) {
        std::string ignored;
        drain(master_, ignored);
        int wait_status = 0;
        if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
            pid_ = -1;
            return status_of(wait_status);
        }
        ::usleep(10000);
    }
    return std::nullopt;
}

std::optional<two_monitor_qemu> start_two_monitor_qemu(std::string& why_not) {
    two_monitor_qemu q;
    qemu_options o;
    o.guest = true;
    o.extra_args = {"-chardev", "socket,id=act,path=@DIR@/act.sock,server=on,wait=off", "-mon", "chardev=act,mode=control"};
    auto started = qemu_process::start(o, why_not);
    if (!started) return std::nullopt;
    q.qemu.emplace(std::move(*started));
    q.watch_socket = q.qemu->socket_path();
    q.act_socket = q.qemu->dir().file("act.sock");
    if (!wait_for_socket(q.act_socket, q.qemu->process(), std::chrono::seconds(10))) {
        why_not = "the second monitor's socket did not appear: " + q.qemu->log();
        return std::nullopt;
    }
    return q;
}

}  // namespace qwire::test
