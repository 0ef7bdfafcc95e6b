// qwire::qga::client against a hostile or broken agent. Once synced, anything that is not a
// valid reply or event ends the session at the byte that breaks the rules: what came before is
// delivered, then each pending request fails with connection_lost in request order, then one
// disconnect naming the fault, and nothing after it. Before a sync completes, the very same
// bytes are stale and harmless. Every stream runs whole, byte by byte and at every split.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "qga_harness.hpp"

namespace qga = qwire::qga;
using qwire::errc;
using namespace qwire::test;
using strings = std::vector<std::string>;

namespace {

const std::string refused = "receive refused: invalid_state";
// Valid traffic an agent might send after the hostile bytes: never delivered after a fault.
constexpr std::string_view valid_tail = "{\"return\": {}, \"id\": 2}\n{\"return\": {}, \"id\": 3}\n";

std::string disconnect(errc reason) { return "disconnect " + std::string(qwire::to_string(reason)); }

// Syncs with token 1 (request 0), then sends the commands (requests 1, 2, …) once synced.
scenario sending(std::size_t commands, qga::client_options options = {}) {
    scenario sc = after_sync(std::move(options));
    for (std::size_t i = 0; i < commands; ++i) sc.at(synced_1.size(), exec("guest-ping"));
    return sc;
}

// The usual start: two commands sent, the first answered; request 2 waits.
const std::string head = synced_1 + "{\"return\": {}, \"id\": 1}\n";

strings usual_fatal(errc reason) {
    return {"synced 0 1", "reply 1 {}", "request_failed 2 connection_lost", disconnect(reason)};
}

// Checks a stream whose LAST byte must end the session: every split gives `expected`; the
// client is then closing, owes nothing, wants no write and no timer; valid bytes after the
// stream are ignored in the same piece and refused, byte for byte, in later pieces.
void check_fatal(const scenario& sc, const std::string& stream, const strings& expected) {
    scenario checked = sc;
    checked.at(stream.size(), [](qga::client& c) {
        CHECK(c.pending_output().bytes.empty());
        CHECK_FALSE(c.next_deadline());
    });
    CHECK(checked.check(stream, expected).end == "closing pending=0 violations=1 discarded=0");

    const std::string joined = stream + std::string(valid_tail);
    CHECK(sc.run({joined}).events == expected);
    strings later_piece{refused};
    later_piece.insert(later_piece.end(), expected.begin(), expected.end());
    CHECK(sc.run({stream, valid_tail}).events == later_piece);
    strings byte_by_byte(valid_tail.size(), refused);
    byte_by_byte.insert(byte_by_byte.end(), expected.begin(), expected.end());
    CHECK(sc.run(cut_every(joined, 1)).events == byte_by_byte);
}

struct hostile {
    const char* what;
    std::string bytes;
    errc reason;
};

qga::client_options small_limits() {
    qga::client_options o;
    o.max_frame_bytes = 256;
    o.max_depth = 4;
    return o;
}

// Each stream ends at the byte where the fault becomes certain.
const std::vector<hostile> streams = {
    {"a byte that cannot start JSON", "@", errc::malformed_json},
    {"a bare word", "nonsense\n", errc::malformed_json},
    {"a mismatched bracket", "{\"return\": [}", errc::malformed_json},
    {"invalid UTF-8 in a reply", "{\"return\": \"\xc3\x28\", \"id\": 2}", errc::invalid_utf8},
    {"a JSON array", "[1, 2]", errc::unexpected_message},
    {"a JSON string", "\"hello\"", errc::unexpected_message},
    {"a reply with both return and error",
     "{\"return\": {}, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, \"id\": 2}", errc::unexpected_message},
    {"an error without a class", "{\"error\": {\"desc\": \"x\"}, \"id\": 2}", errc::unexpected_message},
    {"an error whose desc is a number", "{\"error\": {\"class\": \"X\", \"desc\": 5}, \"id\": 2}",
     errc::unexpected_message},
    {"an error that is not an object", "{\"error\": \"boom\", \"id\": 2}", errc::unexpected_message},
    {"an object that is neither reply nor event", "{\"hello\": 1}", errc::unexpected_message},
    {"a QMP greeting", "{\"QMP\": {\"version\": {}, \"capabilities\": []}}", errc::unexpected_message},
    {"an event without a timestamp", "{\"event\": \"X\"}", errc::unexpected_message},
    {"an event whose name is a number", "{\"event\": 5, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
     errc::unexpected_message},
    {"a 0xFF outside a sync", "\xff", errc::unexpected_message},
    {"a 0xFF cutting a reply", "{\"return\": {\"a\xff", errc::unexpected_message},
    {"a frame over the size limit", "{\"return\": \"" + std::string(256 - 12 + 1, 'x'), errc::frame_too_large},
    {"nesting over the depth limit", "{\"return\": [[[[", errc::nesting_too_deep},
};

}  // namespace

TEST_CASE("qga hostile: once synced, a stream that breaks the protocol ends the session at that byte") {
    for (const hostile& h : streams) {
        DYNAMIC_SECTION(h.what) { check_fatal(sending(2, small_limits()), head + h.bytes, usual_fatal(h.reason)); }
    }
}

TEST_CASE("qga hostile: a reply without an id while two commands wait is fatal") {
    check_fatal(sending(3), head + "{\"return\": {}}",
                {"synced 0 1", "reply 1 {}", "request_failed 2 connection_lost", "request_failed 3 connection_lost",
                 disconnect(errc::unexpected_message)});
}

TEST_CASE("qga hostile: a reply without an id while nothing waits is fatal") {
    check_fatal(sending(2), head + "{\"return\": {}, \"id\": 2}\n{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}",
                {"synced 0 1", "reply 1 {}", "reply 2 {}", disconnect(errc::unexpected_message)});
    check_fatal(sending(1, in_order_options()), synced_1 + "{\"return\": {}}\n{\"return\": 1}",
                {"synced 0 1", "reply 1 {}", disconnect(errc::unexpected_message)});
}

TEST_CASE("qga hostile: the same streams before the sync completes are stale and discarded") {
    for (const hostile& h : streams) {
        DYNAMIC_SECTION(h.what) {
            scenario sc;
            sc.options = small_limits();
            sc.at(0, exec("guest-ping"));  // 0: held until synced
            sc.at(0, sync_with(9));        // 1
            const std::string stream = h.bytes + std::string(agent::stray_ff_error) + agent::sync_reply(9) +
                                       "{\"return\": {}, \"id\": 0}\n";
            const auto log = sc.check(stream, {"synced 1 9", "reply 0 {}"});
            CHECK(log.end.starts_with("ready pending=0 violations=0 "));
        }
    }
}

TEST_CASE("qga hostile: a flood of events is bounded by the undelivered-event limit") {
    qga::client_options options;
    options.max_undelivered_events = 2;
    auto sc = sending(1, options);
    std::string flood;
    for (int i = 0; i < 5; ++i) {
        flood += "{\"event\": \"E" + std::to_string(i) + "\", \"timestamp\": {\"seconds\": 0, \"microseconds\": 0}}\n";
    }
    sc.at(synced_1.size() + flood.size(), [](qga::client& c) { CHECK(c.events_dropped() == 3); });
    const auto log = sc.check(synced_1 + flood + "{\"return\": {}, \"id\": 1}\n",
                              {"synced 0 1", "event E3 null 0.0", "event E4 null 0.0", "reply 1 {}"});
    CHECK(log.end == "ready pending=0 violations=0 discarded=0");
}

TEST_CASE("qga hostile: an agent that never sends the sentinel never makes the client ready") {
    scenario sc;
    sc.at(0, exec("guest-ping"));
    sc.at(0, sync_with(9, sync_by(t0 + std::chrono::seconds(5))));
    const std::string replies = "{\"return\": 9}\n{\"return\": {}, \"id\": 0}\n{\"return\": 9}\n";
    sc.at(replies.size(), timeout_at(t0 + std::chrono::seconds(5)));
    const auto log = sc.check(replies, {"request_failed 1 timed_out"});
    CHECK(log.end == "unsynced pending=1 violations=0 discarded=3");
    CHECK(log.written == sync_bytes(9));
}
