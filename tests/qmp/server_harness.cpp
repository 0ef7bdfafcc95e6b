#include "server_harness.hpp"

#include <algorithm>
#include <ostream>
#include <set>
#include <variant>

namespace qwire::test {
namespace {

// The offsets at which transfers are cut, from pieces of a run's input.
std::set<std::size_t> cut_offsets(const pieces& cuts) {
    std::set<std::size_t> out;
    std::size_t at = 0;
    for (std::string_view p : cuts) {
        at += p.size();
        out.insert(at);
    }
    return out;
}

// How many bytes may move from `pos` without crossing a cut.
std::size_t room(const std::set<std::size_t>& cuts, std::size_t pos, std::size_t available) {
    auto next = cuts.upper_bound(pos);
    if (next == cuts.end()) return available;
    return std::min(available, *next - pos);
}

}  // namespace

std::string describe(const qmp::server_event& event) {
    if (const auto* r = std::get_if<qmp::ready>(&event)) return r->oob_enabled ? "ready oob" : "ready";
    if (const auto* c = std::get_if<qmp::command>(&event)) {
        std::string s = "command " + std::to_string(c->id.value) + " " + c->name + " " + c->arguments.dump();
        if (c->wire_id) s += " id=" + c->wire_id->dump();
        if (c->oob) s += " oob";
        return s;
    }
    if (const auto* f = std::get_if<request_failed>(&event)) {
        return "request_failed " + std::to_string(f->id.value) + " " + std::string(to_string(f->error.code()));
    }
    if (const auto* v = std::get_if<protocol_violation>(&event)) {
        return "violation " + std::string(to_string(v->error.code())) + ": " + v->error.detail();
    }
    return "disconnect " + std::string(to_string(std::get<disconnect>(event).reason.code()));
}

nlohmann::json running_status() { return {{"status", "running"}, {"singlestep", false}, {"running", true}}; }

void answer_at_once(qmp::server& server, const qmp::command& c) {
    REQUIRE(server.reply(c.id, c.name == "query-status" ? running_status() : nlohmann::json::object()));
}

void serve(qmp::server& server, const responder& respond, std::vector<std::string>& log) {
    while (auto e = server.next_event()) {
        log.push_back(describe(*e));
        if (const auto* c = std::get_if<qmp::command>(&*e)) respond(server, *c);
    }
}

std::ostream& operator<<(std::ostream& out, const server_log& log) {
    out << "events:\n";
    for (const auto& e : log.events) out << "  " << e << "\n";
    return out << "written: " << log.written;
}

server_log server_scenario::run(const pieces& input) const {
    qmp::server server(options);
    server_log log;
    log.written += drain_output(server);
    std::string scratch;
    auto settle = [&](bool done) {
        for (;;) {
            serve(server, respond, log.events);
            log.written += drain_output(server);
            const std::size_t before = log.written.size() + log.events.size();
            idle(server, done);
            serve(server, respond, log.events);
            log.written += drain_output(server);
            if (log.written.size() + log.events.size() == before) break;
        }
    };
    for (std::string_view piece : input) {
        scratch.assign(piece);
        const auto fed = server.receive(scratch);
        if (!fed) log.events.push_back("receive refused: " + std::string(to_string(fed.error().code())));
        scratch.assign(scratch.size(), '#');  // the server must not keep views into fed bytes
        settle(false);
    }
    settle(true);
    after(server);
    serve(server, respond, log.events);
    log.written += drain_output(server);
    return log;
}

server_log server_scenario::check(std::string_view input, const std::vector<std::string>& expected,
                                  std::size_t all_splits_up_to) const {
    const server_log whole = run({input});
    CHECK(whole.events == expected);
    check_every_split<server_log>(input, whole, [this](const pieces& p) { return run(p); }, all_splits_up_to);
    return whole;
}

std::ostream& operator<<(std::ostream& out, const joined_log& log) {
    out << "client events:\n";
    for (const auto& e : log.client_events) out << "  " << e << "\n";
    out << "server events:\n";
    for (const auto& e : log.server_events) out << "  " << e << "\n";
    return out << "c2s: " << log.c2s << "\ns2c: " << log.s2c;
}

joined_log joined_scenario::run(const pieces& cuts_pieces) const {
    const std::set<std::size_t> cuts = cut_offsets(cuts_pieces);
    qmp::client client(client_options);
    qmp::server server(server_options);
    joined_log log;
    std::string scratch;

    auto client_events = [&] {
        while (auto e = client.next_event()) {
            log.client_events.push_back(describe(*e));
            on_client_event(client, *e);
        }
    };
    // Moves what `from` wants to write into `to`, cut at the cut offsets of the stream so far.
    auto transfer = [&](auto& from, auto& to, std::string& stream, auto&& may_move, auto&& after_each) {
        bool moved = false;
        for (auto v = from.pending_output(); !v.bytes.empty() && to.is_open() && may_move(); v = from.pending_output()) {
            const std::size_t n = room(cuts, stream.size(), v.bytes.size());
            scratch.assign(v.bytes.substr(0, n));
            stream += scratch;
            from.consume_output(n);
            REQUIRE(to.receive(scratch));
            scratch.assign(scratch.size(), '#');  // neither side may keep views into fed bytes
            after_each();
            moved = true;
        }
        return moved;
    };
    auto always = [] { return true; };
    auto server_reads = [&] { return !server.input_suspended(); };
    auto serve_server = [&] { serve(server, respond, log.server_events); };
    // Moves bytes until neither side has anything to say.
    auto exchange = [&] {
        for (bool progress = true; progress;) {
            serve_server();
            progress = transfer(server, client, log.s2c, always, client_events);
            client_events();
            progress = transfer(client, server, log.c2s, server_reads, serve_server) || progress;
        }
        client_events();
        serve_server();
    };

    start(client);
    exchange();
    finish(client, server);
    exchange();
    return log;
}

joined_log joined_scenario::check(std::size_t all_splits_up_to) const {
    const joined_log whole = run({});
    const std::string shape(std::max(whole.c2s.size(), whole.s2c.size()), '.');
    check_every_split<joined_log>(shape, whole, [this](const pieces& p) { return run(p); }, all_splits_up_to);
    return whole;
}

}  // namespace qwire::test
