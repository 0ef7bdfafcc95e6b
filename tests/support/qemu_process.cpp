#include "qemu_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace qwire::test {

std::optional<std::string> find_program(const std::string& name) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/usr/bin:/sbin:/bin";
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const std::string candidate = dir + "/" + name;
        if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

temp_dir::temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/qwire-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::temp_dir(temp_dir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }

temp_dir::~temp_dir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

child_process child_process::spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // The child dies with the test process, whatever way that ends.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log >= 0) {
            ::dup2(log, 1);
            ::dup2(log, 2);
        }
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) ::dup2(null, 0);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return child_process(pid);
}

child_process::child_process(child_process&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }

child_process::~child_process() { kill_and_reap(); }

void child_process::signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return status;
        }
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

bool child_process::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

void child_process::kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);  // a stopped process must run to die
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

bool wait_for_socket(const std::string& path, child_process& process, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    while (std::chrono::steady_clock::now() < until) {
        if (!process.running()) return false;
        if (::access(path.c_str(), F_OK) == 0) {
            // The file exists once QEMU has bound it; it listens right after.
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
            ::close(fd);
            if (ok) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::optional<qemu_process> qemu_process::start(const qemu_options& options, std::string& why_not) {
    why_not.clear();
    const auto program = find_program("qemu-system-x86_64");
    if (!program) return std::nullopt;
    qemu_process q;
    q.dir_.emplace();
    q.socket_ = options.socket_path.empty() ? q.dir_->file("qmp.sock") : options.socket_path;
    std::vector<std::string> argv = {*program, "-nodefaults", "-display", "none", "-no-user-config"};
    if (options.guest) {
        argv.insert(argv.end(), {"-machine", "pc", "-accel", "tcg", "-S", "-m", "64"});
    } else {
        argv.insert(argv.end(), {"-machine", "none"});
    }
    argv.insert(argv.end(), {"-chardev", "socket,id=mon,path=" + q.socket_ + (options.server ? ",server=on,wait=off" : ""),
                             "-mon", "chardev=mon,mode=control"});
    for (auto a : options.extra_args) {
        for (auto at = a.find("@DIR@"); at != std::string::npos; at = a.find("@DIR@")) a.replace(at, 5, q.dir_->path());
        argv.push_back(std::move(a));
    }
    q.process_.emplace(child_process::spawn(argv, q.dir_->file("qemu.log")));
    // Probing the socket in server mode would take QEMU's only client slot only briefly: the
    // probe connection closes at once and QEMU goes back to listening.
    if (options.server && !wait_for_socket(q.socket_, *q.process_, std::chrono::seconds(20))) {
        why_not = "QEMU did not open " + q.socket_ + ": " + q.log();
        return std::nullopt;
    }
    return q;
}

std::optional<qemu_process> qemu_process::launch(std::vector<std::string> argv, const std::string& socket_name,
                                                 std::string& why_not) {
    qemu_process q;
    q.dir_.emplace();
    q.socket_ = q.dir_->file(socket_name);
    for (auto& a : argv) {
        for (auto at = a.find("@DIR@"); at != std::string::npos; at = a.find("@DIR@")) a.replace(at, 5, q.dir_->path());
    }
    q.process_.emplace(child_process::spawn(argv, q.dir_->file("peer.log")));
    if (!wait_for_socket(q.socket_, *q.process_, std::chrono::seconds(20))) {
        why_not = argv[0] + " did not open " + q.socket_ + ": " + q.log();
        return std::nullopt;
    }
    return q;
}

std::optional<qemu_process> qemu_process::start_qtest(bool running, std::string& why_not) {
    why_not.clear();
    const auto program = find_program("qemu-system-x86_64");
    if (!program) return std::nullopt;
    std::vector<std::string> argv = {*program, "-machine", "pc", "-m", "64", "-nodefaults", "-display", "none",
                                     "-no-user-config", "-qtest", "unix:@DIR@/qtest.sock,server=on,wait=off"};
    if (!running) argv.push_back("-S");
    return launch(std::move(argv), "qtest.sock", why_not);
}

std::optional<qemu_process> qemu_process::start_qemu_ga(std::string& why_not) {
    why_not.clear();
    const auto program = find_program("qemu-ga");
    if (!program) return std::nullopt;
    // Block every command the agent knows except the read-only ones: it runs on this machine.
    const std::vector<std::string> allowed = {"guest-sync-delimited", "guest-sync",          "guest-ping",
                                              "guest-info",           "guest-get-time",      "guest-get-host-name",
                                              "guest-get-osinfo",     "guest-get-timezone"};
    temp_dir listing;
    std::string blocked;
    {
        child_process lister = child_process::spawn({*program, "-b", "?"}, listing.file("list"));
        lister.wait_exit(std::chrono::seconds(10));
        std::ifstream in(listing.file("list"));
        for (std::string name; in >> name;) {
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end() && name.starts_with("guest-")) {
                blocked += (blocked.empty() ? "" : ",") + name;
            }
        }
    }
    if (blocked.find("guest-shutdown") == std::string::npos || blocked.find("guest-exec") == std::string::npos) {
        why_not = "could not list qemu-ga's commands to block them";
        return std::nullopt;
    }
    return launch({*program, "-m", "unix-listen", "-p", "@DIR@/qga.sock", "-t", "@DIR@", "-f", "@DIR@/qga.pid", "-b",
                   blocked},
                  "qga.sock", why_not);
}

std::string qemu_process::log() const {
    std::ifstream in(dir_->file(std::filesystem::exists(dir_->file("peer.log")) ? "peer.log" : "qemu.log"));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace qwire::test
