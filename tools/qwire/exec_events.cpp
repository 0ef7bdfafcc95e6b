// `qwire exec` and `qwire events`: one command, or a stream of events, through the blocking
// clients (sync_client, sync_qga). See commands.hpp for the exit statuses.
#include <signal.h>
#include <sys/signalfd.h>

#include <chrono>
#include <iostream>
#include <set>

#include "command_line.hpp"
#include "commands.hpp"
#include "qwire/sync_client.hpp"
#include "qwire/sync_qga.hpp"

namespace qwire::tool {

namespace {

using nlohmann::json;

duration seconds(double s) { return std::chrono::duration_cast<duration>(std::chrono::duration<double>(s)); }

/// An error ending a call: QEMU's error reply (status 1) or anything else (status 2).
int report(const std::string& socket, const error& e) {
    if (e.code() == errc::command_failed) {
        std::cerr << e.error_class() << ": " << e.detail() << '\n';
        return exit_error_reply;
    }
    return fail(exit_connection, connection_problem(socket, e));
}

int print_result(const tl::expected<json, error>& result, const exec_settings& s) {
    if (!result) return report(s.socket, result.error());
    std::cout << (s.pretty ? pretty(*result, use_colour(colour_mode::automatic, 1)) : compact(*result)) << std::endl;
    return exit_ok;
}

}  // namespace

std::string connection_problem(const std::string& socket, const error& e) {
    if (e.code() == errc::connection_lost && e.cause()) return socket + ": " + e.cause().message();
    return socket + ": " + e.message();
}

epoll::unique_fd termination_signals() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    return epoll::unique_fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
}

int fail(int status, const std::string& text) {
    std::cerr << "qwire: " << text << std::endl;
    return status;
}

int run_exec(const exec_settings& s) {
    auto command = parse_command_words(s.words);
    if (!command) return fail(exit_usage, command.error());
    const auto deadline = clock::now() + seconds(s.timeout_s);
    const auto left = [&] { return std::max(duration::zero(), deadline - clock::now()); };
    if (s.qga) {
        auto agent = sync_qga::connect(s.socket, left());
        if (!agent) return report(s.socket, agent.error());
        return print_result(agent->execute(command->name, command->arguments, left()), s);
    }
    auto qemu = sync_client::connect(s.socket, left());
    if (!qemu) return report(s.socket, qemu.error());
    qmp::exec_options options;
    options.oob = s.oob || command->oob;
    options.id = command->id;
    return print_result(qemu->execute(command->name, command->arguments, std::move(options), left()), s);
}

int run_events(const events_settings& s) {
    const std::set<std::string> wanted(s.filter.begin(), s.filter.end());
    // Without --timeout, wait in slices of an hour: the session ends when QEMU goes.
    const bool timed = s.timeout_s.has_value();
    const time_point deadline = clock::now() + seconds(s.timeout_s.value_or(0));
    const auto left = [&] {
        return timed ? std::max(duration::zero(), deadline - clock::now()) : duration(std::chrono::hours(1));
    };
    auto qemu = sync_client::connect(s.socket, std::min<duration>(left(), std::chrono::seconds(10)));
    if (!qemu) return report(s.socket, qemu.error());
    unsigned printed = 0;
    while (!s.count || printed < *s.count) {
        auto e = qemu->wait_event("", left());
        if (!e) {
            const auto& reason = qemu->disconnect_reason();
            const bool ended_by_qemu = e.error().code() == errc::peer_closed || (reason && reason->code() == errc::peer_closed);
            if (e.error().code() == errc::timed_out && (!timed || left() > duration::zero())) continue;
            if (e.error().code() == errc::timed_out || ended_by_qemu) break;
            return report(s.socket, e.error());
        }
        if (!wanted.empty() && !wanted.contains(e->name)) continue;
        std::cout << compact(event_json(*e)) << std::endl;
        ++printed;
    }
    return s.count && printed < *s.count ? exit_error_reply : exit_ok;
}

}  // namespace qwire::tool
