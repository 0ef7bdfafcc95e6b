// qwire — talk to QEMU's monitor (QMP) and guest agent from the command line.
// The options of each subcommand are parsed here with CLI11; the work is in commands.hpp.
#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace {

using namespace qwire::tool;

const char* const socket_help = "QEMU's QMP socket: a Unix socket PATH, unix:PATH, or HOST:PORT";

void add_exec(CLI::App& app, exec_settings& s) {
    auto* cmd = app.add_subcommand("exec", "Run one command; print its reply as JSON.\n"
                                           "Exit status: 0 success, 1 error reply, 2 connection problem, 64 bad usage.");
    cmd->add_option("socket", s.socket, socket_help)->required();
    cmd->add_option("command", s.words, "COMMAND [key=value ...] or COMMAND '{JSON arguments}'")->required();
    cmd->add_option("--timeout", s.timeout_s, "Seconds to wait for the connection and the reply")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--qga", s.qga, "The socket is a guest agent's (no greeting; synchronise first)");
    cmd->add_flag("--oob", s.oob, "Send with exec-oob (the command must allow it)");
    cmd->add_flag("--pretty", s.pretty, "Indent the reply (coloured on a terminal)");
    cmd->positionals_at_end();
}

void add_events(CLI::App& app, events_settings& s) {
    auto* cmd = app.add_subcommand("events", "Print QEMU's events as JSON lines until QEMU quits.\n"
                                             "Exit status: 0, or 1 when --count events did not come, 2 connection problem.");
    cmd->add_option("socket", s.socket, socket_help)->required();
    cmd->add_option("--filter", s.filter, "Only events with this name (repeatable)");
    cmd->add_option("--count", s.count, "Stop after this many events")->check(CLI::PositiveNumber);
    cmd->add_option("--timeout", s.timeout_s, "Stop after this many seconds")->check(CLI::PositiveNumber);
}

void add_shell(CLI::App& app, shell_settings& s) {
    auto* cmd = app.add_subcommand("shell", "Interactive: type `command key=value ...` or raw JSON.\n"
                                            "Tab completes command and argument names; history is kept between runs.");
    cmd->add_option("socket", s.socket, socket_help)->required();
    cmd->add_flag("--qga", s.qga, "The socket is a guest agent's");
    cmd->add_flag("--oob", s.oob, "Send every command with exec-oob");
    cmd->add_option("--log", s.log_file, "Append the raw traffic to this file");
    cmd->add_option("--history", s.history_file, "History file (default: $XDG_STATE_HOME/qwire/history)");
    cmd->add_option("--timeout", s.timeout_s, "Seconds to wait for each reply")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--color", s.colour, "Colour output: auto, always or never")
        ->transform(CLI::CheckedTransformer(std::map<std::string, colour_mode>{
            {"auto", colour_mode::automatic}, {"always", colour_mode::always}, {"never", colour_mode::never}}));
}

void add_mock(CLI::App& app, mock_settings& s) {
    auto* cmd = app.add_subcommand("mock", "Serve a fake QEMU on a Unix socket, answering from a script.\n"
                                           "See tools/qwire/mock_script.hpp for the script format.");
    cmd->add_option("socket", s.socket, "Unix socket path to listen on")->required();
    cmd->add_option("--schema", s.schema_file, "A query-qmp-schema reply: check commands like QEMU does")
        ->check(CLI::ExistingFile);
    cmd->add_option("--script", s.script_file, "Canned replies (JSON)")->check(CLI::ExistingFile);
    cmd->add_flag("--once", s.once, "Exit when the first client has gone");
    cmd->add_flag("--pretty", s.pretty, "Write messages over many lines, like QEMU's pretty=on");
}

void add_proxy(CLI::App& app, proxy_settings& s, std::vector<std::string>& listens, std::vector<std::string>& denies,
               std::vector<std::string>& events) {
    auto* cmd = app.add_subcommand("proxy", "Let many clients share one QEMU monitor.\n"
                                            "--deny and --events apply to the --listen before them.");
    cmd->add_option("--upstream", s.upstream, socket_help)->required();
    cmd->add_option("--listen", listens, "A Unix socket for clients (repeatable)")->required();
    cmd->add_option("--deny", denies, "Commands refused on the socket before: NAME,NAME…");
    cmd->add_option("--events", events, "Only these events to the socket before: NAME,NAME…");
    cmd->add_option("--record", s.record_dir, "Record every client session here (corpus format)")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--max-backlog", s.max_backlog, "Bytes a client may leave unread before it is cut off")
        ->capture_default_str()->check(CLI::PositiveNumber);
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t begin = 0; begin <= text.size();) {
        const auto comma = std::min(text.find(',', begin), text.size());
        if (comma > begin) out.push_back(text.substr(begin, comma - begin));
        begin = comma + 1;
    }
    return out;
}

/// Gives each --deny and --events to the --listen given before it on the command line; false
/// when one comes before any --listen.
bool assign_listen_options(const CLI::App& proxy_cmd, proxy_settings& s, const std::vector<std::string>& listens,
                           const std::vector<std::string>& denies, const std::vector<std::string>& events) {
    std::size_t listen_i = 0, deny_i = 0, event_i = 0;
    for (const CLI::Option* o : proxy_cmd.parse_order()) {
        const std::string name = o->get_name();
        if (name == "--listen") {
            s.listens.push_back({listens.at(listen_i++), {}, {}});
        } else if (name == "--deny" || name == "--events") {
            if (s.listens.empty()) return false;
            auto& into = name == "--deny" ? s.listens.back().deny : s.listens.back().events;
            for (auto& n : split_commas(name == "--deny" ? denies.at(deny_i++) : events.at(event_i++))) into.push_back(n);
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("qwire: talk to QEMU's monitor (QMP) and guest agent", "qwire");
    app.require_subcommand(1);
    exec_settings exec;
    events_settings events;
    shell_settings shell;
    mock_settings mock;
    proxy_settings proxy;
    std::vector<std::string> listens, denies, event_names;
    add_exec(app, exec);
    add_events(app, events);
    add_shell(app, shell);
    add_mock(app, mock);
    add_proxy(app, proxy, listens, denies, event_names);
    const auto all = app.get_subcommands([](const CLI::App*) { return true; });
    const auto known = [&](const char* name) {
        return std::any_of(all.begin(), all.end(), [&](const CLI::App* a) { return a->get_name() == name; });
    };
    if (argc > 1 && argv[1][0] != '-' && !known(argv[1]))
        return fail(exit_usage, std::string("unknown subcommand '") + argv[1] + "' (see qwire --help)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return fail(exit_usage, std::string(e.what()) + " (see qwire --help)");
    }
    const auto* chosen = app.get_subcommands().front();
    const std::string name = chosen->get_name();
    if (name == "exec") return run_exec(exec);
    if (name == "events") return run_events(events);
    if (name == "shell") return run_shell(shell);
    if (name == "proxy") {
        if (!assign_listen_options(*chosen, proxy, listens, denies, event_names))
            return fail(exit_usage, "--deny and --events follow the --listen they apply to (see qwire proxy --help)");
        return run_proxy(proxy);
    }
    return run_mock(mock);
}
