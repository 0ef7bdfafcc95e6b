// `qwire proxy`: many clients share one QEMU monitor. One qmp::client talks to QEMU; each
// client that connects to a listening socket gets its own qmp::server, so it gets QEMU's
// greeting and negotiates on its own (qmp_capabilities is answered here). Its commands go to
// QEMU under the upstream client's ids and the replies come back to it under its own id,
// verbatim (the server keeps it); exec-oob stays out of band; file descriptors it passes ride
// with its next command. Every QEMU event goes to every negotiated client (filtered per
// listening socket). A client that leaves has its pending replies dropped; one that stops
// reading is cut off at a byte limit, so it never stalls QEMU or the others.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "commands.hpp"
#include "recorder.hpp"
#include "qwire/epoll/connection.hpp"
#include "qwire/qmp/client.hpp"
#include "qwire/qmp/server.hpp"

namespace qwire::tool {

namespace {

using nlohmann::json;
using upstream_connection = epoll::connection<qmp::client>;

void log_line(const std::string& text) { std::cerr << "qwire proxy: " << text << std::endl; }

/// Reads bytes and any descriptors passed with them (SCM_RIGHTS).
ssize_t receive_with_fds(int fd, char* buf, std::size_t size, std::vector<int>& fds) {
    iovec iov{buf, size};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const auto* data = reinterpret_cast<const int*>(CMSG_DATA(c));
        fds.insert(fds.end(), data, data + count);
    }
    return n;
}

class proxy;

/// One client of the proxy.
class downstream final : public epoll::source {
public:
    downstream(proxy& owner, std::uint64_t serial, epoll::unique_fd fd, const proxy_listen& where,
               qmp::server_options options, std::unique_ptr<session_recorder> recorder);
    ~downstream() override;
    [[nodiscard]] std::uint64_t serial() const { return serial_; }
    [[nodiscard]] bool finished() const { return finished_; }
    [[nodiscard]] bool wants(const std::string& event) const {
        return where_.events.empty() || std::count(where_.events.begin(), where_.events.end(), event) > 0;
    }
    [[nodiscard]] bool denies(const std::string& command) const {
        return std::count(where_.deny.begin(), where_.deny.end(), command) > 0;
    }
    std::vector<int> take_fds() { return std::exchange(fds_, {}); }

    void reply(request_id id, const json& value) {
        (void)server_.reply(id, value);
        settle();
    }
    void reply_error(request_id id, const std::string& cls, const std::string& desc) {
        (void)server_.reply_error(id, cls, desc);
        settle();
    }
    void event(const qmp::event& e) {
        if (finished_ || !server_.is_ready() || !wants(e.name)) return;
        if (auto sent = server_.emit_event(e.name, e.data, e.timestamp); !sent && sent.error().code() == errc::backlog_full)
            return cut_off();
        settle();
    }
    /// QEMU is gone: write what is queued, then close.
    void close_after_flush() {
        closing_ = true;
        flush();
    }

    void on_ready(std::uint32_t events) override;
    void on_time(time_point) override {}
    [[nodiscard]] std::optional<time_point> deadline() const override { return std::nullopt; }

private:
    void settle() {
        pump();
        flush();
    }
    void pump();
    void flush();
    void cut_off();
    void end();

    proxy& owner_;
    std::uint64_t serial_;
    epoll::unique_fd fd_;
    const proxy_listen& where_;
    qmp::server server_;
    std::unique_ptr<session_recorder> recorder_;
    std::vector<int> fds_;  // received, waiting for the next command
    bool closing_ = false;
    bool finished_ = false;
};

/// A command forwarded to QEMU: whose it is, and the descriptors to close once it is answered.
struct route {
    std::uint64_t client;
    request_id downstream_id;
    std::vector<int> fds;
};

class proxy final : public epoll::source {
public:
    proxy(const proxy_settings& s, epoll::loop& l, epoll::unique_fd signals) : s_(s), loop_(l), signals_(std::move(signals)) {
        (void)loop_.add(signals_.get(), EPOLLIN, this);
    }
    ~proxy() override {
        clients_.clear();
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            loop_.remove(listeners_[i].get(), this);
            ::unlink(s_.listens[i].path.c_str());
        }
        loop_.remove(signals_.get(), this);
        loop_.unwatch(this);
        for (auto& [id, r] : routes_) close_fds(r.fds);
    }

    int run() {
        auto where = epoll::endpoint::parse(s_.upstream);
        if (!where) return fail(exit_usage, s_.upstream + ": " + where.error().message());
        upstream_connection::options_type options;
        auto c = upstream_connection::connect(loop_, *where, std::move(options),
                                              [this](upstream_connection&, qmp::client_event& e) { on_upstream(e); });
        if (!c) return fail(exit_connection, s_.upstream + ": " + c.error().message());
        upstream_ = std::move(*c);
        while (!upstream_ready_ && !upstream_end_) (void)loop_.run_once();
        if (!upstream_ready_) return fail(exit_connection, connection_problem(s_.upstream, *upstream_end_));
        for (const auto& l : s_.listens) {
            auto fd = epoll::listen_unix(l.path);
            if (!fd) return fail(exit_connection, l.path + ": " + fd.error().message());
            (void)loop_.add(fd->get(), EPOLLIN, this);
            listeners_.push_back(std::move(*fd));
            log_line("listening on " + l.path + (l.deny.empty() ? "" : " (denied: " + join(l.deny) + ")"));
        }
        while (!interrupted_ && !(upstream_end_ && clients_.empty())) {
            if (auto ran = loop_.run_once(); !ran) return fail(exit_connection, ran.error().message());
            std::erase_if(clients_, [](const auto& c) { return c.second->finished(); });
        }
        if (interrupted_) return exit_ok;
        return upstream_end_->code() == errc::peer_closed ? exit_ok : fail(exit_connection, connection_problem(s_.upstream, *upstream_end_));
    }

    // For downstream connections.
    void forward(downstream& d, const qmp::command& c) {
        if (d.denies(c.name))
            return d.reply_error(c.id, "GenericError", "qwire proxy: " + c.name + " is not allowed on this socket");
        qmp::exec_options o;
        o.oob = c.oob;
        o.fds = d.take_fds();
        auto fds = o.fds;
        auto id = upstream_->execute(c.name, c.arguments, std::move(o));
        if (!id) {
            close_fds(fds);
            return d.reply_error(c.id, "GenericError", "qwire proxy: " + id.error().message());
        }
        routes_[*id] = {d.serial(), c.id, std::move(fds)};
    }
    /// A client left: QEMU's answers to its pending commands will be dropped.
    void client_gone(downstream& d) {
        std::vector<route> orphans;
        std::vector<request_id> ids;
        for (auto it = routes_.begin(); it != routes_.end();) {
            if (it->second.client != d.serial()) {
                ++it;
                continue;
            }
            ids.push_back(it->first);
            orphans.push_back(std::move(it->second));
            it = routes_.erase(it);
        }
        // Cancelling can hand out the upstream's events at once (this call may come from outside
        // its handler), so the routes go first: the request_failed events find none.
        for (request_id id : ids) (void)upstream_->cancel(id);  // a late reply is dropped by the client
        for (const auto& r : orphans) close_fds(r.fds);
    }
    void loop_remove(int fd, epoll::source* s) {
        loop_.remove(fd, s);
        loop_.unwatch(s);
    }
    epoll::loop& loop() { return loop_; }
    [[nodiscard]] std::size_t max_backlog() const { return s_.max_backlog; }

    void on_ready(std::uint32_t) override {
        signalfd_siginfo info{};
        if (::read(signals_.get(), &info, sizeof info) == sizeof info) interrupted_ = true;
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            while (auto fd = epoll::accept_one(listeners_[i].get())) accept(std::move(*fd), s_.listens[i]);
        }
    }
    void on_time(time_point) override {}
    [[nodiscard]] std::optional<time_point> deadline() const override { return std::nullopt; }

private:
    static std::string join(const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
        return out;
    }
    static void close_fds(const std::vector<int>& fds) {
        for (int fd : fds) ::close(fd);
    }

    void accept(epoll::unique_fd fd, const proxy_listen& where) {
        if (upstream_end_) return;  // QEMU is gone: the connection closes unanswered
        const std::uint64_t serial = ++serial_;
        qmp::server_options o;
        o.version = greeting_.version;
        o.capabilities = upstream_->client().oob_enabled() ? std::vector<std::string>{"oob"} : std::vector<std::string>{};
        // The server stops reading a client whose output passes its limit; the proxy cuts the
        // client off before that, at max_backlog.
        o.max_output_bytes = s_.max_backlog * 2 + 1;
        std::unique_ptr<session_recorder> recorder;
        if (!s_.record_dir.empty()) {
            char name[32];
            std::snprintf(name, sizeof name, "session-%04llu", static_cast<unsigned long long>(serial));
            recorder = std::make_unique<session_recorder>(s_.record_dir, name);
            if (!recorder->ok()) log_line("cannot record into " + s_.record_dir);
        }
        clients_.emplace(serial, std::make_unique<downstream>(*this, serial, std::move(fd), where, std::move(o), std::move(recorder)));
    }

    void on_upstream(qmp::client_event& e) {
        if (auto* g = std::get_if<qmp::greeting>(&e)) greeting_ = *g;
        else if (std::holds_alternative<qmp::ready>(e)) upstream_ready_ = true;
        else if (auto* r = std::get_if<qmp::reply>(&e)) route_to(r->id, [&](downstream& d, request_id id) { d.reply(id, r->value); });
        else if (auto* er = std::get_if<qmp::error_reply>(&e))
            route_to(er->id, [&](downstream& d, request_id id) { d.reply_error(id, er->error_class, er->desc); });
        else if (auto* f = std::get_if<request_failed>(&e))
            route_to(f->id, [&](downstream& d, request_id id) { d.reply_error(id, "GenericError", "qwire proxy: " + f->error.message()); });
        else if (auto* ev = std::get_if<qmp::event>(&e)) for (auto& [serial, d] : clients_) d->event(*ev);
        else if (auto* v = std::get_if<protocol_violation>(&e)) log_line("QEMU: " + v->error.message());
        else if (auto* d = std::get_if<disconnect>(&e)) {
            upstream_end_ = d->reason;
            if (upstream_ready_) log_line("QEMU closed the connection: " + d->reason.message());
            for (auto& [serial, c] : clients_) c->close_after_flush();
        }
    }

    template <class F>
    void route_to(request_id upstream_id, F&& deliver) {
        auto it = routes_.find(upstream_id);
        if (it == routes_.end()) return;
        route r = std::move(it->second);
        routes_.erase(it);
        close_fds(r.fds);
        if (auto c = clients_.find(r.client); c != clients_.end() && !c->second->finished()) deliver(*c->second, r.downstream_id);
    }

    const proxy_settings& s_;
    epoll::loop& loop_;
    epoll::unique_fd signals_;
    std::unique_ptr<upstream_connection> upstream_;
    qmp::greeting greeting_;
    bool upstream_ready_ = false;
    std::optional<error> upstream_end_;
    bool interrupted_ = false;
    std::vector<epoll::unique_fd> listeners_;
    std::map<std::uint64_t, std::unique_ptr<downstream>> clients_;
    std::map<request_id, route> routes_;
    std::uint64_t serial_ = 0;
};

downstream::downstream(proxy& owner, std::uint64_t serial, epoll::unique_fd fd, const proxy_listen& where,
                       qmp::server_options options, std::unique_ptr<session_recorder> recorder)
    : owner_(owner), serial_(serial), fd_(std::move(fd)), where_(where), server_(std::move(options)),
      recorder_(std::move(recorder)) {
    (void)owner_.loop().add(fd_.get(), EPOLLIN, this);
    flush();  // the greeting
}

downstream::~downstream() {
    owner_.loop_remove(fd_.get(), this);
    for (int fd : fds_) ::close(fd);
    if (recorder_) recorder_->finish(closing_);
}

void downstream::on_ready(std::uint32_t events) {
    if (finished_) return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        char buf[65536];
        const ssize_t n = receive_with_fds(fd_.get(), buf, sizeof buf, fds_);
        if (n > 0) {
            if (recorder_) recorder_->client_to_server(std::string_view(buf, static_cast<std::size_t>(n)));
            (void)server_.receive(std::string_view(buf, static_cast<std::size_t>(n)));
        } else if (n == 0) {
            (void)server_.receive_eof();
        } else if (errno != EAGAIN && errno != EINTR) {
            (void)server_.transport_failed(std::error_code(errno, std::system_category()));
        }
        pump();
    }
    if (!finished_) flush();
}

void downstream::pump() {
    while (auto e = server_.next_event()) {
        if (auto* c = std::get_if<qmp::command>(&*e)) owner_.forward(*this, *c);
        else if (std::holds_alternative<qmp::ready>(*e)) log_line("client " + std::to_string(serial_) + " ready on " + where_.path);
        else if (std::holds_alternative<disconnect>(*e)) end();
    }
}

void downstream::flush() {
    while (!finished_) {
        const auto out = server_.pending_output();
        if (out.bytes.empty()) break;
        auto sent = epoll::send_with_fds(fd_.get(), out.bytes, {});
        if (!sent) {
            if (sent.error() == std::errc::resource_unavailable_try_again) break;
            return end();  // the client went away
        }
        if (recorder_) recorder_->server_to_client(out.bytes.substr(0, *sent));
        server_.consume_output(*sent);
        pump();  // writing may let the server read on
    }
    if (finished_) return;
    const std::size_t backlog = server_.pending_output().bytes.size();
    if (backlog > owner_.max_backlog()) return cut_off();
    if (closing_ && backlog == 0) return end();
    const std::uint32_t interest = (server_.input_suspended() || closing_ ? 0U : std::uint32_t{EPOLLIN}) |
                                   (backlog ? std::uint32_t{EPOLLOUT} : 0U);
    (void)owner_.loop().modify(fd_.get(), interest, this);
}

void downstream::cut_off() {
    log_line("client " + std::to_string(serial_) + " stopped reading (" +
             std::to_string(server_.pending_output().bytes.size()) + " bytes waiting): cut off");
    end();
}

void downstream::end() {
    if (finished_) return;
    finished_ = true;
    log_line("client " + std::to_string(serial_) + " left");
    if (server_.is_open()) (void)server_.close();
    while (server_.next_event()) {
    }
    owner_.client_gone(*this);
    (void)owner_.loop().modify(fd_.get(), 0, this);
}

}  // namespace

int run_proxy(const proxy_settings& s) {
    auto signals = termination_signals();
    auto l = epoll::loop::create();
    if (!l) return fail(exit_connection, l.error().message());
    proxy p(s, *l, std::move(signals));
    return p.run();
}

}  // namespace qwire::tool
