#include "qmp_harness.hpp"

#include <ostream>
#include <variant>

namespace qwire::test {
namespace {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::string describe(const qmp::client_event& event) {
    return std::visit(
        overloaded{
            [](const qmp::greeting& g) {
                std::string caps;
                for (const auto& c : g.capabilities) caps += " " + c;
                return "greeting" + caps;
            },
            [](const qmp::ready& r) { return std::string(r.oob_enabled ? "ready oob" : "ready"); },
            [](const qmp::reply& r) { return "reply " + std::to_string(r.id.value) + " " + r.value.dump(); },
            [](const qmp::error_reply& r) {
                return "error_reply " + std::to_string(r.id.value) + " " + r.error_class + ": " + r.desc;
            },
            [](const qmp::event& e) {
                return "event " + e.name + " " + e.data.dump() + " " + std::to_string(e.timestamp.seconds) + "." +
                       std::to_string(e.timestamp.microseconds);
            },
            [](const qmp::no_reply& r) { return "no_reply " + std::to_string(r.id.value); },
            [](const request_failed& f) {
                return "request_failed " + std::to_string(f.id.value) + " " + std::string(to_string(f.error.code()));
            },
            [](const protocol_violation& v) { return "violation " + std::string(to_string(v.error.code())); },
            [](const disconnect& d) { return "disconnect " + std::string(to_string(d.reason.code())); },
        },
        event);
}

std::vector<std::string> drain_events(qmp::client& client) {
    std::vector<std::string> out;
    while (auto e = client.next_event()) out.push_back(describe(*e));
    return out;
}

std::string drain_output(qmp::client& client) {
    std::string out;
    for (auto view = client.pending_output(); !view.bytes.empty(); view = client.pending_output()) {
        out += view.bytes;
        client.consume_output(view.bytes.size());
    }
    return out;
}

std::ostream& operator<<(std::ostream& out, const session_log& log) {
    out << "events:\n";
    for (const auto& e : log.events) out << "  " << e << "\n";
    return out << "written: " << log.written;
}

session_log scenario::run(const pieces& input) const {
    qmp::client client(options);
    session_log log;
    before(client);
    log.written += drain_output(client);
    std::string scratch;
    for (std::string_view piece : input) {
        scratch.assign(piece);
        const auto fed = client.receive(scratch);
        if (!fed) log.events.push_back("receive refused: " + std::string(to_string(fed.error().code())));
        scratch.assign(scratch.size(), '#');  // the client must not keep views into fed bytes
        log.written += drain_output(client);
    }
    after(client);
    log.written += drain_output(client);
    auto events = drain_events(client);
    log.events.insert(log.events.end(), events.begin(), events.end());
    return log;
}

session_log scenario::check(std::string_view input, const std::vector<std::string>& expected,
                            std::size_t all_splits_up_to) const {
    const session_log whole = run({input});
    CHECK(whole.events == expected);
    check_every_split<session_log>(input, whole, [this](const pieces& p) { return run(p); }, all_splits_up_to);
    return whole;
}

qmp::client ready_client(qmp::client_options options, std::string_view greeting) {
    qmp::client client(std::move(options));
    REQUIRE(client.receive(greeting));
    drain_output(client);
    REQUIRE(client.receive(caps_ok));
    drain_events(client);
    REQUIRE(client.is_ready());
    return client;
}

}  // namespace qwire::test
