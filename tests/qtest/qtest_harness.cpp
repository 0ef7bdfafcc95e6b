#include "qtest_harness.hpp"

#include <cstdio>
#include <variant>

namespace qwire::test {
namespace {

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
    return drain_described(client, [](const qtest::client_event& e) { return describe(e); });
}

std::uint64_t sent(const tl::expected<request_id, error>& result) {
    INFO((result ? std::string() : result.error().message()));
    REQUIRE(result.has_value());
    return result->value;
}

}  // namespace qwire::test
