// qmp::client driven by a sequence of operations read from the input (execute, cancel,
// receive raw bytes or a well-formed server message, EOF, transport failure, time passing,
// partial writes, close), with a simulated clock; the checks are qmp_client_checker's.
//
// Input: an options byte, then operations of one byte each followed by their operands.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "fuzz_support.hpp"
#include "client_checker.hpp"
#include "qwire/qmp/client.hpp"

namespace {

using qwire::fuzz::input;
using qmp_client_checker = qwire::fuzz::client_checker<qwire::qmp::client, qwire::qmp::event>;

// The client's output must be QMP commands: JSON objects, one after another.
qmp_client_checker::output_check json_objects() {
    return [checker = std::make_shared<qwire::fuzz::json_stream_checker>()](std::string_view bytes) {
        checker->add(bytes);
    };
}
using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view commands[] = {"query-status", "stop", "guest-shutdown", "migrate-pause"};

qwire::qmp::client_options options_from(std::uint8_t flags, qwire::time_point start) {
    qwire::qmp::client_options o;
    o.enable_oob = (flags & 0x01) == 0;
    if (flags & 0x02) o.on_event_overflow = qwire::overflow_policy::drop_newest;
    o.max_undelivered_events = (flags & 0x04) ? 2 : 10000;
    if (flags & 0x08) o.max_queued_commands = 3;
    if (flags & 0x10) o.max_output_bytes = 64;
    if (flags & 0x20) o.handshake_deadline = start + milliseconds(500);
    if (flags & 0x40) o.command_timeout = milliseconds(100);
    return o;
}

std::string text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// A well-formed server message chosen by `pick`, aimed at an open request when one is needed.
std::string message(input& in, qmp_client_checker& c) {
    const std::uint8_t pick = in.byte();
    const json id = c.pick_open(in.byte()).value;
    switch (pick % 8) {
    case 0:
        return R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, )"
               R"("capabilities": ["oob"]}})";
    case 1: return R"({"QMP": {"version": {}, "capabilities": []}})";
    case 2: return R"({"return": {}})";
    case 3: return json{{"return", {{"status", "running"}}}, {"id", id}}.dump();
    case 4: return text({{"id", id}, {"error", {{"class", "GenericError"}, {"desc", std::string(in.short_string())}}}});
    case 5: return R"({"error": {"class": "GenericError", "desc": "JSON parse error"}})";
    case 6: return R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}})";
    default:
        return text({{"event", std::string(in.short_string(8))},
                     {"data", {{"n", pick}}},
                     {"timestamp", {{"seconds", -1}, {"microseconds", -1}}}});
    }
}

void execute(input& in, qmp_client_checker& c, qwire::time_point now) {
    const std::uint8_t flags = in.byte();
    qwire::qmp::exec_options o;
    o.oob = (flags & 0x01) != 0;
    o.expect_reply = (flags & 0x02) == 0;
    if (flags & 0x04) o.now = now;
    if (flags & 0x08) o.timeout = milliseconds(in.byte());
    if (flags & 0x10) o.deadline = now + milliseconds(in.u16());
    if (flags & 0x20) o.id = json(std::string(in.short_string(8)));
    if (flags & 0x40) o.fds = {3, 4};
    json arguments = nullptr;
    if (flags & 0x80) arguments = json{{"text", std::string(in.short_string())}};  // maybe invalid UTF-8
    const std::string_view command = commands[in.byte() % std::size(commands)];
    c.issue([&] { return c.client().execute(command, std::move(arguments), std::move(o)); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    qwire::time_point now{std::chrono::seconds(1000)};
    qmp_client_checker c(options_from(in.byte(), now), json_objects());
    while (!in.empty()) {
        const unsigned op = in.byte() % 12;
        switch (op) {
        case 0: execute(in, c, now); break;
        case 1:
            c.cancel(c.pick_open(in.byte()));
            break;
        case 2: c.receive(in.short_string(64)); break;
        case 3: c.receive(message(in, c) + "\r\n"); break;
        case 4: c.receive_eof(); break;
        case 5: c.transport_failed(std::make_error_code(std::errc::connection_reset)); break;
        default: c.common_op(op - 6, in, now); break;
        }
    }
    c.finish();
    return 0;
}
