#include "qtest_harness.hpp"

#include <cstdio>
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

std::string describe_value(const qtest::reply_value& value) {
    return std::visit(
        overloaded{
            [](std::monostate) { return std::string("OK"); },
            [](std::uint64_t n) {
                char text[24];
                std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(n));
                return std::string(text);
            },
            [](const qtest::bytes& data) {
                std::string text = "bytes ";
                for (std::uint8_t b : data) {
                    char hex[3];
                    std::snprintf(hex, sizeof hex, "%02x", b);
                    text += hex;
                }
                return text;
            },
            [](std::chrono::nanoseconds ns) { return std::to_string(ns.count()) + "ns"; },
            [](qtest::endianness e) { return std::string(e == qtest::endianness::little ? "little" : "big"); },
            [](const std::string& s) { return "text '" + s + "'"; },
        },
        value);
}

}  // namespace

std::string describe(const qtest::client_event& event) {
    return std::visit(
        overloaded{
            [](const qtest::reply& r) { return "reply " + std::to_string(r.id.value) + " " + describe_value(r.value); },
            [](const qtest::error_reply& r) {
                return std::string(r.err ? "err " : "fail ") + std::to_string(r.id.value) +
                       (r.message.empty() ? "" : " " + r.message);
            },
            [](const qtest::irq& i) {
                return std::string(i.raised ? "irq raise " : "irq lower ") + std::to_string(i.line);
            },
            [](const request_failed& f) {
                return "request_failed " + std::to_string(f.id.value) + " " + std::string(to_string(f.error.code()));
            },
            [](const protocol_violation& v) { return "violation " + std::string(to_string(v.error.code())); },
            [](const disconnect& d) { return "disconnect " + std::string(to_string(d.reason.code())); },
        },
        event);
}

std::vector<std::string> drain_events(qtest::client& client) {
    std::vector<std::string> out;
    while (auto e = client.next_event()) out.push_back(describe(*e));
    return out;
}

std::string drain_output(qtest::client& client) {
    std::string out;
    for (auto view = client.pending_output(); !view.bytes.empty(); view = client.pending_output()) {
        out += view.bytes;
        client.consume_output(view.bytes.size());
    }
    return out;
}

std::ostream& operator<<(std::ostream& out, const qtest_log& log) {
    out << "events:\n";
    for (const auto& e : log.events) out << "  " << e << "\n";
    return out << "written:\n" << log.written;
}

qtest_log qtest_scenario::run(const pieces& input) const {
    qtest::client client(options);
    qtest_log log;
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

qtest_log qtest_scenario::check(std::string_view input, const std::vector<std::string>& expected) const {
    const qtest_log whole = run({input});
    CHECK(whole.events == expected);
    check_every_split<qtest_log>(input, whole, [this](const pieces& p) { return run(p); });
    return whole;
}

std::uint64_t sent(const tl::expected<request_id, error>& result) {
    INFO((result ? std::string() : result.error().message()));
    REQUIRE(result.has_value());
    return result->value;
}

}  // namespace qwire::test
