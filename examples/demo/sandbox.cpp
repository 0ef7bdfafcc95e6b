#include "sandbox.hpp"

#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <utility>

namespace demo {
namespace {

constexpr std::string_view folder_files[] = {sync_socket, loop_socket, mock_socket, qemu_log};
constexpr std::size_t file_count = std::size(folder_files);

// What the signal handler cleans up. Written by the main program only while the signals are
// blocked, so the handler never sees it half-made.
struct emergency_state {
    pid_t pid = 0;        // QEMU, while it runs
    bool armed = false;   // the folder exists
    char paths[file_count + 1][PATH_MAX] = {};  // the files, then the folder
};
emergency_state emergency;

// Blocks the signals the demo handles for as long as it lives: a Ctrl-C that comes meanwhile is
// handled right after, when there is nothing half-done.
class signals_blocked {
public:
    signals_blocked() {
        sigset_t set;
        ::sigemptyset(&set);
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaddset(&set, sig);
        ::sigprocmask(SIG_BLOCK, &set, &old_);
    }
    signals_blocked(const signals_blocked&) = delete;
    signals_blocked& operator=(const signals_blocked&) = delete;
    ~signals_blocked() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

private:
    sigset_t old_;
};

// Only async-signal-safe calls: kill, waitpid, unlink, rmdir, write, _exit.
extern "C" void on_signal(int sig) {
    if (emergency.pid > 0) {
        ::kill(emergency.pid, SIGKILL);
        while (::waitpid(emergency.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    if (emergency.armed) {
        for (std::size_t i = 0; i < file_count; ++i) ::unlink(emergency.paths[i]);
        ::rmdir(emergency.paths[file_count]);
    }
    static constexpr char note[] = "\ninterrupted: QEMU killed, its sockets and folder removed\n";
    if (::write(STDOUT_FILENO, note, sizeof note - 1) < 0) {
        // Nothing to do: the demo is leaving anyway.
    }
    ::_exit(128 + sig);
}

void copy_path(char (&to)[PATH_MAX], const std::string& from) {
    std::strncpy(to, from.c_str(), PATH_MAX - 1);
    to[PATH_MAX - 1] = '\0';
}

}  // namespace

void clean_up_on_signals() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    ::sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaddset(&action.sa_mask, sig);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
}

std::unique_ptr<sandbox> sandbox::start(std::string& why_not) {
    why_not.clear();
    const auto program = qwire::test::find_program("qemu-system-x86_64");
    if (!program) return nullptr;
    std::unique_ptr<sandbox> s(new sandbox);
    {
        signals_blocked quiet;
        s->dir_.emplace();
        for (std::size_t i = 0; i < file_count; ++i) copy_path(emergency.paths[i], s->file(folder_files[i]));
        copy_path(emergency.paths[file_count], s->folder());
        emergency.armed = true;
    }
    s->argv_ = {*program, "-machine", "pc",   "-accel",  "tcg",         "-S", "-m", "64",
                "-nodefaults", "-display", "none", "-no-user-config"};
    for (const auto& [id, socket] : {std::pair{"sync", sync_socket}, std::pair{"loop", loop_socket}}) {
        const std::string chardev = std::string("socket,id=") + id + ",path=" + s->file(socket) + ",server=on,wait=off";
        s->argv_.insert(s->argv_.end(), {"-chardev", chardev, "-mon", std::string("chardev=") + id + ",mode=control"});
    }
    {
        // The child runs with the parent's signal mask until exec: fork with the signals open.
        s->qemu_.emplace(qwire::test::child_process::spawn(s->argv_, s->file(qemu_log)));
        signals_blocked quiet;
        s->pid_ = s->qemu_->pid();
        emergency.pid = s->pid_;
    }
    for (auto socket : {sync_socket, loop_socket}) {
        if (!qwire::test::wait_for_socket(s->file(socket), *s->qemu_, std::chrono::seconds(20))) {
            why_not = "QEMU did not open " + s->file(socket) + ":\n" + s->log();
            return nullptr;
        }
    }
    return s;
}

sandbox::~sandbox() {
    signals_blocked quiet;
    qemu_.reset();  // SIGKILL and reap, if it still runs
    emergency.pid = 0;
    dir_.reset();   // removes the folder and everything in it
    emergency.armed = false;
}

std::string sandbox::log() const {
    std::ifstream in(file(qemu_log));
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<int> sandbox::wait_exit(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        {
            signals_blocked quiet;
            if (!qemu_) return std::nullopt;
            if (auto status = qemu_->wait_exit(std::chrono::milliseconds(0))) {
                qemu_.reset();
                emergency.pid = 0;
                return status;
            }
        }
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace demo
