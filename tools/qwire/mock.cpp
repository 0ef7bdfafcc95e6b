// `qwire mock SOCKET`: a fake QEMU on a Unix socket, for other programs' tests. Each client
// that connects gets its own qwire::qmp::server (the greeting, negotiation and QEMU's error
// texts come from it, and schema checks with --schema); commands that pass are answered from
// the script (mock_script.hpp). Clients are served at the same time, on one epoll loop.
// SIGINT and SIGTERM end it cleanly, removing the socket file.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <list>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "mock_script.hpp"
#include "qwire/epoll/loop.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/qmp/server.hpp"

namespace qwire::tool {

namespace {

using nlohmann::json;

/// What every connection shares: the script (its "times" counts are shared), the schema.
struct mock_world {
    mock_script script;
    json schema_reply;                          ///< the file as read, or null
    std::shared_ptr<const qmp::schema> schema;  ///< parsed, when given
    bool pretty = false;
};

qmp::timestamp now_timestamp() {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    return {us / 1000000, us % 1000000};
}

class mock_connection final : public epoll::source {
public:
    mock_connection(epoll::loop& l, epoll::unique_fd fd, mock_world& world)
        : loop_(l), fd_(std::move(fd)), world_(world), server_(options(world)) {
        (void)loop_.add(fd_.get(), EPOLLIN, this);
        flush();
    }
    ~mock_connection() override {
        loop_.remove(fd_.get(), this);
        loop_.unwatch(this);
    }
    [[nodiscard]] bool finished() const { return finished_; }

    void on_ready(std::uint32_t events) override {
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some();
        if (!finished_) flush();
    }
    void on_time(time_point) override {}
    [[nodiscard]] std::optional<time_point> deadline() const override { return std::nullopt; }

private:
    static qmp::server_options options(const mock_world& w) {
        qmp::server_options o;
        if (w.script.version()) o.version = *w.script.version();
        if (w.script.capabilities()) o.capabilities = *w.script.capabilities();
        o.schema = w.schema;
        o.pretty = w.pretty;
        return o;
    }

    void read_some() {
        char buf[65536];
        const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n > 0) (void)server_.receive(std::string_view(buf, static_cast<std::size_t>(n)));
        else if (n == 0) (void)server_.receive_eof();
        else if (errno != EAGAIN && errno != EINTR) (void)server_.transport_failed(std::error_code(errno, std::system_category()));
        answer_commands();
    }

    void answer_commands() {
        while (auto e = server_.next_event()) {
            if (auto* c = std::get_if<qmp::command>(&*e)) answer(*c);
            else if (std::holds_alternative<qmp::ready>(*e)) emit(world_.script.events_on_ready());
            else if (std::holds_alternative<disconnect>(*e)) finished_ = true;
        }
    }

    void emit(const std::vector<mock_event>& events) {
        for (const auto& e : events) (void)server_.emit_event(e.name, e.data, now_timestamp());
    }

    void answer(const qmp::command& c) {
        if (auto a = world_.script.answer(c.name, c.arguments)) return answer_scripted(c, *a);
        if (c.name == "query-version") return (void)server_.reply(c.id, server_.options().version);
        if (c.name == "query-qmp-schema" && !world_.schema_reply.is_null())
            return (void)server_.reply(c.id, world_.schema_reply.contains("return") ? world_.schema_reply["return"] : world_.schema_reply);
        if (c.name == "query-commands") {
            json list = json::array();
            const auto names = world_.schema ? world_.schema->command_names() : world_.script.command_names();
            for (const auto& n : names) list.push_back({{"name", n}});
            return (void)server_.reply(c.id, list);
        }
        if (c.name == "quit") {
            (void)server_.reply(c.id);
            emit({{"SHUTDOWN", {{"guest", false}, {"reason", "host-qmp-quit"}}}});
            close_after_flush_ = true;
            return;
        }
        (void)server_.reply_error(c.id, "GenericError", "qwire mock: no reply is scripted for '" + c.name + "'");
    }

    void answer_scripted(const qmp::command& c, const mock_answer& a) {
        emit(a.events_before);
        if (a.raw) {
            // The raw bytes take the reply's place on the wire: the server still sees the command
            // answered (so later commands flow), but its reply is dropped unwritten.
            take_server_output();
            (void)server_.reply(c.id);
            server_.consume_output(server_.pending_output().bytes.size());
            out_ += *a.raw;
        } else if (a.error) {
            (void)server_.reply_error(c.id, a.error->first, a.error->second);
        } else {
            (void)server_.reply(c.id, *a.value);
        }
        emit(a.events_after);
        if (a.close) close_after_flush_ = true;
    }

    void take_server_output() {
        const auto view = server_.pending_output();
        out_.append(view.bytes.data(), view.bytes.size());
        server_.consume_output(view.bytes.size());
    }

    void flush() {
        take_server_output();
        while (!out_.empty()) {
            auto sent = epoll::send_with_fds(fd_.get(), out_, {});
            if (!sent) {
                if (sent.error() == std::errc::resource_unavailable_try_again) break;
                finished_ = true;  // the client went away; nothing more to say
                return;
            }
            out_.erase(0, *sent);
            take_server_output();  // writing may have let the server read on
            answer_commands();
        }
        if (out_.empty() && close_after_flush_ && !finished_) {
            (void)server_.close();
            answer_commands();
            finished_ = true;
            return;
        }
        const std::uint32_t interest = (server_.input_suspended() ? 0U : std::uint32_t{EPOLLIN}) |
                                       (out_.empty() ? 0U : std::uint32_t{EPOLLOUT});
        (void)loop_.modify(fd_.get(), interest, this);
    }

    epoll::loop& loop_;
    epoll::unique_fd fd_;
    mock_world& world_;
    qmp::server server_;
    std::string out_;
    bool close_after_flush_ = false;
    bool finished_ = false;
};

/// The listening socket and SIGINT/SIGTERM (through a signalfd).
class mock_listener final : public epoll::source {
public:
    mock_listener(epoll::loop& l, epoll::unique_fd listener, epoll::unique_fd signals, mock_world& world)
        : loop_(l), listener_(std::move(listener)), signals_(std::move(signals)), world_(world) {
        (void)loop_.add(listener_.get(), EPOLLIN, this);
        (void)loop_.add(signals_.get(), EPOLLIN, this);
    }
    ~mock_listener() override {
        loop_.remove(listener_.get(), this);
        loop_.remove(signals_.get(), this);
        loop_.unwatch(this);
    }
    void on_ready(std::uint32_t) override {
        signalfd_siginfo info{};
        if (::read(signals_.get(), &info, sizeof info) == sizeof info) interrupted = true;
        while (auto fd = epoll::accept_one(listener_.get())) {
            clients.push_back(std::make_unique<mock_connection>(loop_, std::move(*fd), world_));
            ++served;
        }
    }
    void on_time(time_point) override {}
    [[nodiscard]] std::optional<time_point> deadline() const override { return std::nullopt; }

    std::list<std::unique_ptr<mock_connection>> clients;
    unsigned served = 0;
    bool interrupted = false;

private:
    epoll::loop& loop_;
    epoll::unique_fd listener_;
    epoll::unique_fd signals_;
    mock_world& world_;
};

tl::expected<json, std::string> read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return tl::unexpected(path + ": cannot read: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    json value = json::parse(text.str(), nullptr, false);
    if (value.is_discarded()) return tl::unexpected(path + ": not JSON");
    return value;
}

}  // namespace

int run_mock(const mock_settings& s) {
    mock_world world;
    world.pretty = s.pretty;
    if (!s.script_file.empty()) {
        auto script_json = read_json_file(s.script_file);
        if (!script_json) return fail(exit_usage, script_json.error());
        auto script = mock_script::from_json(*script_json);
        if (!script) return fail(exit_usage, s.script_file + ": " + script.error());
        world.script = std::move(*script);
    }
    if (!s.schema_file.empty()) {
        auto schema_json = read_json_file(s.schema_file);
        if (!schema_json) return fail(exit_usage, schema_json.error());
        auto schema = qmp::schema::from_json(*schema_json);
        if (!schema) return fail(exit_usage, s.schema_file + ": " + schema.error().message());
        world.schema_reply = std::move(*schema_json);
        world.schema = std::make_shared<const qmp::schema>(std::move(*schema));
    }
    auto signals = termination_signals();
    auto l = epoll::loop::create();
    if (!l) return fail(exit_connection, l.error().message());
    auto listening = epoll::listen_unix(s.socket);
    if (!listening) return fail(exit_connection, s.socket + ": " + listening.error().message());
    std::cerr << "qwire mock: listening on " << s.socket << std::endl;
    int status = exit_ok;
    {
        mock_listener listener(*l, std::move(*listening), std::move(signals), world);
        while (!listener.interrupted) {
            if (auto ran = l->run_once(); !ran) {
                status = fail(exit_connection, ran.error().message());
                break;
            }
            listener.clients.remove_if([](const auto& c) { return c->finished(); });
            if (s.once && listener.served > 0 && listener.clients.empty()) break;
        }
    }
    ::unlink(s.socket.c_str());
    return status;
}

}  // namespace qwire::tool
