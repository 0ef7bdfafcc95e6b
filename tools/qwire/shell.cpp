// `qwire shell`: an interactive session with QEMU's monitor or a guest agent, on an epoll loop
// that reads the terminal and the socket together, so events print as they come, above the
// line being typed. Commands go out as typed (parsed by command_line.hpp), replies come back
// indented; Tab completes from query-commands and query-qmp-schema (completion.hpp).
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "command_line.hpp"
#include "commands.hpp"
#include "completion.hpp"
#include "line_editor.hpp"
#include "qwire/epoll/connection.hpp"
#include "qwire/qga/client.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::tool {

namespace {

using nlohmann::json;

std::string default_history_file() {
    if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) return std::string(state) + "/qwire/history";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/qwire/history";
    return {};
}

/// Calls a function when a descriptor is ready (the terminal, here).
class fd_source final : public epoll::source {
public:
    explicit fd_source(std::function<void()> ready) : ready_(std::move(ready)) {}
    void on_ready(std::uint32_t) override { ready_(); }
    void on_time(time_point) override {}
    [[nodiscard]] std::optional<time_point> deadline() const override { return std::nullopt; }

private:
    std::function<void()> ready_;
};

/// Why the shell sent a request: the person typed it, or the shell wants it for completion.
enum class purpose : std::uint8_t { typed, command_list, schema, agent_info };

template <class Client>
class shell_session {
    static constexpr bool is_qga = std::is_same_v<Client, qga::client>;
    using connection = epoll::connection<Client>;
    using event_type = typename connection::event_type;
    using exec_options = std::conditional_t<is_qga, qga::exec_options, qmp::exec_options>;

public:
    shell_session(const shell_settings& s, epoll::loop& l) : s_(s), loop_(l), colour_(use_colour(s.colour, STDOUT_FILENO)) {}

    int run() {
        auto where = epoll::endpoint::parse(s_.socket);
        if (!where) return fail(exit_usage, s_.socket + ": " + where.error().message());
        typename connection::options_type options;
        if (!s_.log_file.empty()) {
            log_.open(s_.log_file, std::ios::app);
            if (!log_) return fail(exit_usage, s_.log_file + ": cannot open for writing");
            options.client.observer = [this](direction d, std::string_view message) {
                log_ << (d == direction::outbound ? "-> " : "<- ") << message << '\n' << std::flush;
            };
        }
        auto c = connection::connect(loop_, *where, std::move(options),
                                     [this](connection&, event_type& e) { on_event(e); });
        if (!c) return fail(exit_connection, s_.socket + ": " + c.error().message());
        conn_ = std::move(*c);
        while (!ready_ && !ended_) (void)loop_.run_once();
        if (!ready_) return fail(exit_connection, connection_problem(s_.socket, *ended_));
        // The names Tab offers arrive in a few milliseconds: wait for them before the prompt,
        // so that the first Tab already completes.
        ask_for_completions();
        while (!requests_.empty() && !ended_) (void)loop_.run_once();
        return interact();
    }

private:
    int interact() {
        line_editor editor(is_qga ? "qga> " : "qmp> ", s_.history_file.empty() ? default_history_file() : s_.history_file,
                           completer_, [this](std::optional<std::string> line) { on_line(std::move(line)); });
        editor_ = &editor;
        fd_source input([&] { editor.on_input(); });
        const bool watched = static_cast<bool>(loop_.add(STDIN_FILENO, EPOLLIN, &input));
        if (!watched) {
            // A regular file cannot be polled: it is always readable, so read it all now.
            while (!input_done_) editor.on_input();
        }
        while (!ended_ && !(input_done_ && typed_pending_ == 0)) (void)loop_.run_once();
        if (watched) loop_.remove(STDIN_FILENO, &input);
        loop_.unwatch(&input);
        editor.stop();
        editor_ = nullptr;
        if (!ended_) {
            (void)conn_->close();
            return exit_ok;
        }
        return ended_->code() == errc::peer_closed || ended_->code() == errc::closed ? exit_ok : exit_connection;
    }

    void ask_for_completions() {
        if constexpr (is_qga) {
            send("guest-info", nullptr, purpose::agent_info);
        } else {
            send("query-commands", nullptr, purpose::command_list);
            send("query-qmp-schema", nullptr, purpose::schema);
        }
    }

    void send(const std::string& name, json arguments, purpose why, const parsed_command* typed = nullptr) {
        exec_options options;
        options.timeout = std::chrono::duration_cast<duration>(std::chrono::duration<double>(s_.timeout_s));
        if constexpr (!is_qga) {
            options.oob = why == purpose::typed && (s_.oob || (typed && typed->oob));
            if (typed) options.id = typed->id;
        }
        auto id = conn_->execute(name, std::move(arguments), std::move(options));
        if (!id) return print(paint(colour::red, "error: " + id.error().message()));
        requests_[*id] = why;
        if (why == purpose::typed) ++typed_pending_;
    }

    void on_line(std::optional<std::string> line) {
        if (input_done_) return;  // lines piped after "exit"
        if (!line) {
            input_done_ = true;
            return;
        }
        auto command = parse_command_line(*line);
        if (!command) {
            if (command.error() != "empty command") print(paint(colour::red, "error: " + command.error()));
            return;
        }
        if (command->name == "exit" && command->arguments.is_null()) {
            input_done_ = true;
            return;
        }
        send(command->name, command->arguments, purpose::typed, &*command);
    }

    /// Which purpose a finished request had; forgets it.
    purpose finish(request_id id) {
        auto it = requests_.find(id);
        if (it == requests_.end()) return purpose::typed;
        const purpose why = it->second;
        requests_.erase(it);
        if (why == purpose::typed) --typed_pending_;
        return why;
    }

    void on_event(event_type& e) {
        std::visit([&](auto& v) { this->handle(v); }, e);
    }

    void handle(const qmp::greeting& g) {
        const auto& q = g.version.value("qemu", json::object());
        std::string caps;
        for (const auto& c : g.capabilities) caps += (caps.empty() ? "" : ", ") + c;
        print("Connected to QEMU " + std::to_string(q.value("major", 0)) + "." + std::to_string(q.value("minor", 0)) + "." +
              std::to_string(q.value("micro", 0)) + " (capabilities: " + (caps.empty() ? "none" : caps) + ")");
    }
    void handle(const qmp::ready& r) {
        ready_ = true;
        print(std::string("Ready") + (r.oob_enabled ? ", out-of-band commands enabled" : "") +
              ". Type a command (Tab completes), or exit.");
    }
    void handle(const qga::synced&) {
        ready_ = true;
        print("Connected to the guest agent. Type a command (Tab completes), or exit.");
    }
    void handle(const qmp::reply& r) {
        switch (finish(r.id)) {
            case purpose::typed: return print(pretty(r.value, colour_));
            case purpose::command_list: {
                std::vector<std::string> names;
                for (const auto& c : r.value) names.push_back(c.value("name", ""));
                return completer_.set_commands(std::move(names));
            }
            case purpose::schema:
                if (auto schema = qmp::schema::from_json(r.value))
                    completer_.set_schema(std::make_shared<const qmp::schema>(std::move(*schema)));
                return;
            case purpose::agent_info: {
                std::vector<std::string> names;
                for (const auto& c : r.value.value("supported_commands", json::array()))
                    if (c.value("enabled", false)) names.push_back(c.value("name", ""));
                return completer_.set_commands(std::move(names));
            }
        }
    }
    void handle(const qmp::error_reply& r) {
        if (finish(r.id) == purpose::typed) print(paint(colour::red, "error: " + r.error_class + ": " + r.desc));
    }
    void handle(const qmp::event& e) { print(paint(colour::dim, "event ") + compact(event_json(e))); }
    void handle(const qmp::no_reply& r) { finish(r.id); }
    void handle(const request_failed& f) {
        if (finish(f.id) == purpose::typed) print(paint(colour::red, "error: " + f.error.message()));
    }
    void handle(const protocol_violation& v) { print(paint(colour::red, "warning: " + v.error.message())); }
    void handle(const disconnect& d) {
        ended_ = d.reason;
        if (d.reason.code() == errc::peer_closed) print(ready_ ? "Connection closed by the peer." : "");
        else if (d.reason.code() != errc::closed && ready_) print(paint(colour::red, "disconnected: " + d.reason.message()));
    }

    std::string paint(const char* c, const std::string& text) const { return tool::paint(c, text, colour_); }
    void print(const std::string& text) {
        if (text.empty()) return;
        if (editor_) editor_->print(text);
        else std::cout << text << std::endl;
    }

    const shell_settings& s_;
    epoll::loop& loop_;
    bool colour_;
    std::ofstream log_;
    std::unique_ptr<connection> conn_;
    completer completer_;
    line_editor* editor_ = nullptr;
    std::map<request_id, purpose> requests_;
    std::size_t typed_pending_ = 0;
    bool ready_ = false;
    bool input_done_ = false;
    std::optional<error> ended_;
};

}  // namespace

int run_shell(const shell_settings& s) {
    auto l = epoll::loop::create();
    if (!l) return fail(exit_connection, l.error().message());
    if (s.qga) return shell_session<qga::client>(s, *l).run();
    return shell_session<qmp::client>(s, *l).run();
}

}  // namespace qwire::tool
