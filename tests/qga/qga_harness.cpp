#include "qga_harness.hpp"

#include <algorithm>
#include <ostream>
#include <variant>

namespace qwire::test {
namespace {

const char* state_name(qga::client_state s) {
    switch (s) {
        case qga::client_state::unsynced: return "unsynced";
        case qga::client_state::syncing: return "syncing";
        case qga::client_state::ready: return "ready";
        case qga::client_state::closing: return "closing";
        case qga::client_state::closed: return "closed";
    }
    return "?";
}

}  // namespace

std::string describe(const qga::client_event& event) {
    return std::visit(
        overloaded{
            [](const qga::synced& s) { return "synced " + std::to_string(s.id.value) + " " + std::to_string(s.token); },
            [](const qga::reply& r) { return "reply " + std::to_string(r.id.value) + " " + r.value.dump(); },
            [](const qga::error_reply& r) {
                return "error_reply " + std::to_string(r.id.value) + " " + r.error_class + ": " + r.desc;
            },
            [](const qga::event& e) {
                return "event " + e.name + " " + e.data.dump() + " " + std::to_string(e.timestamp.seconds) + "." +
                       std::to_string(e.timestamp.microseconds);
            },
            [](const qga::no_reply& r) { return "no_reply " + std::to_string(r.id.value); },
            [](const request_failed& f) {
                return "request_failed " + std::to_string(f.id.value) + " " + std::string(to_string(f.error.code()));
            },
            [](const protocol_violation& v) { return "violation " + std::string(to_string(v.error.code())); },
            [](const disconnect& d) { return "disconnect " + std::string(to_string(d.reason.code())); },
        },
        event);
}

std::vector<std::string> drain_events(qga::client& client) {
    return drain_described(client, [](const qga::client_event& e) { return describe(e); });
}

std::string summary(const qga::client& client) {
    return std::string(state_name(client.state())) + " pending=" + std::to_string(client.pending_requests()) +
           " violations=" + std::to_string(client.violations()) +
           " discarded=" + std::to_string(client.discarded_messages());
}

std::string agent::sync_reply(std::uint64_t token) {
    return "\xff{\"return\": " + std::to_string(token) + "}\n";
}

std::string sync_bytes(std::uint64_t token) {
    return "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":" + std::to_string(token) + "}}";
}

std::ostream& operator<<(std::ostream& out, const qga_log& log) {
    out << "events:\n";
    for (const auto& e : log.events) out << "  " << e << "\n";
    return out << "written: " << log.written << "\nend: " << log.end;
}

scenario& scenario::at(std::size_t offset, action a) {
    actions.emplace_back(offset, std::move(a));
    return *this;
}

qga_log scenario::run(const pieces& input) const {
    qga::client client(options);
    qga_log log;
    std::size_t fed = 0;
    auto next_action = actions.begin();
    const auto run_due = [&] {
        for (; next_action != actions.end() && next_action->first <= fed; ++next_action) {
            next_action->second(client);
            log.written += drain_output(client);
        }
    };
    const auto feed = [&](std::string_view bytes) {
        std::string scratch(bytes);
        const auto r = client.receive(scratch);
        if (!r) log.events.push_back("receive refused: " + std::string(to_string(r.error().code())));
        scratch.assign(scratch.size(), '#');  // the client must not keep views into fed bytes
        fed += bytes.size();
        log.written += drain_output(client);
    };
    run_due();
    for (std::string_view piece : input) {
        // Cut the piece where an action is due, so that it runs right after that byte.
        while (!piece.empty()) {
            std::size_t take = piece.size();
            if (next_action != actions.end() && next_action->first > fed) {
                take = std::min(take, next_action->first - fed);
            }
            feed(piece.substr(0, take));
            piece.remove_prefix(take);
            run_due();
        }
    }
    for (; next_action != actions.end(); ++next_action) {  // offsets past the end
        next_action->second(client);
        log.written += drain_output(client);
    }
    log.end = summary(client);
    auto events = drain_events(client);
    log.events.insert(log.events.end(), events.begin(), events.end());
    return log;
}

qga_log scenario::check(std::string_view input, const std::vector<std::string>& expected) const {
    const qga_log whole = run({input});
    CHECK(whole.events == expected);
    check_every_split<qga_log>(input, whole, [this](const pieces& p) { return run(p); });
    return whole;
}

action sync_with(std::uint64_t token, qga::sync_options options) {
    return [=](qga::client& c) { REQUIRE(c.sync(token, options)); };
}

action exec(std::string name, nlohmann::json arguments, qga::exec_options options) {
    return [=](qga::client& c) { REQUIRE(c.execute(name, arguments, options)); };
}

action timeout_at(time_point now) {
    return [=](qga::client& c) { REQUIRE(c.handle_timeout(now)); };
}

action eof() {
    return [](qga::client& c) { REQUIRE(c.receive_eof()); };
}

qga::exec_options by(time_point deadline, bool expect_reply) {
    qga::exec_options o;
    o.deadline = deadline;
    o.expect_reply = expect_reply;
    return o;
}

qga::sync_options sync_by(time_point deadline) {
    qga::sync_options o;
    o.deadline = deadline;
    return o;
}

qga::client_options in_order_options() {
    qga::client_options o;
    o.matching = qga::match_mode::in_order;
    return o;
}

scenario after_sync(qga::client_options options) {
    scenario sc;
    sc.options = std::move(options);
    sc.at(0, sync_with(1));
    return sc;
}

qga::client synced_client(qga::client_options options) {
    qga::client client(std::move(options));
    REQUIRE(client.sync(1));
    drain_output(client);
    REQUIRE(client.receive(agent::sync_reply(1)));
    REQUIRE(drain_events(client) == std::vector<std::string>{"synced 0 1"});
    REQUIRE(client.is_ready());
    return client;
}

}  // namespace qwire::test
