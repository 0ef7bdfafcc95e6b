#include "qmp_harness.hpp"

#include <variant>

namespace qwire::test {

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
    return drain_described(client, [](const qmp::client_event& e) { return describe(e); });
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
