// qga::client driven by operations read from the input: sync with a token, execute, cancel,
// raw bytes or well-formed agent messages (the 0xFF sentinel, sync replies for the current
// and older tokens, replies, id-less errors), EOF, time passing, partial writes, close. The
// resync path is the point: 0xFF bytes anywhere, stale replies, syncs that time out or are
// replaced. Checks: client_checker's, and the output is 0xFF bytes and JSON objects only.
//
// Every input runs twice, raw bytes arriving whole and cut in two: the events must be the same.
//
// Input: an options byte, then operations of one byte each followed by their operands.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "client_checker.hpp"
#include "fuzz_support.hpp"
#include "qwire/qga/client.hpp"

namespace {

using qwire::fuzz::input;
using qga_checker = qwire::fuzz::client_checker<qwire::qga::client, qwire::qga::event>;
using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view commands[] = {"guest-ping", "guest-info", "guest-shutdown", "guest-get-time"};

qga_checker::output_check sentinels_and_json() {
    qwire::json_framer_options framing;
    framing.reset_byte = 0xff;
    return [checker = std::make_shared<qwire::fuzz::json_stream_checker>(framing)](std::string_view bytes) {
        checker->add(bytes);
    };
}

qwire::qga::client_options options_from(std::uint8_t flags) {
    qwire::qga::client_options o;
    if (flags & 0x01) o.matching = qwire::qga::match_mode::in_order;
    if (flags & 0x02) o.on_event_overflow = qwire::overflow_policy::drop_newest;
    o.max_undelivered_events = (flags & 0x04) ? 2 : 10000;
    if (flags & 0x08) o.max_queued_commands = 3;
    if (flags & 0x10) o.max_output_bytes = 96;
    if (flags & 0x20) o.sync_timeout = milliseconds(300);
    if (flags & 0x40) o.command_timeout = milliseconds(100);
    if (flags & 0x80) o.max_frame_bytes = 128;
    return o;
}

// A well-formed message an agent (or a stale stream) could send.
std::string message(input& in, qga_checker& c, std::uint64_t token) {
    const std::uint8_t pick = in.byte();
    const json id = c.pick_open(in.byte()).value;
    switch (pick % 8) {
    case 0: return "\xff{\"return\": " + std::to_string(token) + "}\n";
    case 1: return "\xff{\"return\": " + std::to_string(token - 1) + "}\n";  // an older sync's
    case 2: return json{{"return", {{"version", "7.2"}}}, {"id", id}}.dump() + "\n";
    case 3: return json{{"error", {{"class", "CommandNotFound"}, {"desc", "no"}}}, {"id", id}}.dump() + "\n";
    case 4: return R"({"error": {"class": "GenericError", "desc": "JSON parse error, stray '\uFFFD'"}})" "\n";
    case 5: return R"({"return": {}})" "\n";
    case 6: return "\xff";
    default: return R"({"event": "X", "timestamp": {"seconds": 1, "microseconds": 2}})" "\n";
    }
}

// Runs the operations; with `split`, raw bytes arrive in two receive() calls instead of one.
std::vector<qga_checker::event> run(const std::uint8_t* data, std::size_t size, bool split) {
    input in(data, size);
    qwire::time_point now{std::chrono::seconds(1000)};
    qga_checker c(options_from(in.byte()), sentinels_and_json());
    std::uint64_t token = 1;
    while (!in.empty()) {
        const unsigned op = in.byte() % 12;
        switch (op) {
        case 0: {
            token = in.byte() + 1;
            qwire::qga::sync_options o;
            o.now = now;
            c.issue([&] { return c.client().sync(token, o); });
            break;
        }
        case 1: {
            const std::uint8_t flags = in.byte();
            qwire::qga::exec_options o;
            o.now = now;
            o.expect_reply = (flags & 0x01) == 0;
            if (flags & 0x02) o.deadline = now + milliseconds(in.u16());
            if (flags & 0x04) o.timeout = milliseconds(in.byte());
            json arguments = (flags & 0x08) ? json{{"text", std::string(in.short_string())}} : json(nullptr);
            const std::string_view command = commands[(flags >> 4) % std::size(commands)];
            c.issue([&] { return c.client().execute(command, std::move(arguments), o); });
            break;
        }
        case 2: c.cancel(c.pick_open(in.byte())); break;
        case 3: c.receive_maybe_split(in.short_string(64), split); break;
        case 4: c.receive(message(in, c, token)); break;
        case 5: c.receive_eof(); break;
        default: c.common_op(op - 6, in, now); break;
        }
    }
    c.finish();
    return c.events();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // How raw bytes are cut must not matter.
    FUZZ_CHECK(qwire::fuzz::same_events(run(data, size, false), run(data, size, true)));
    return 0;
}
