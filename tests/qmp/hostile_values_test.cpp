// qwire::qmp::client against a hostile server, part two: the values inside well-framed
// messages (NUL escapes, NaN, numbers out of range, duplicate keys, members of the wrong type),
// 0xFF bytes, EOF in every state, a slow drip and a flood of events with no reply.
//
// Where issue 10's list of hostile streams is covered (each row here or in hostile_test.cpp runs
// whole, byte by byte and at every two-piece split, and expects exact events):
//   truncated frames            hostile_test "EOF inside a message…"; "EOF in every state" here
//   oversized frames            hostile_test "a frame over max_frame_bytes…"
//   deep nesting                hostile_test "nesting over max_depth…"; "at the default limit" here
//   invalid UTF-8               hostile_test "invalid UTF-8 is fatal"
//   lone surrogates             hostile_test "bad escapes and raw control bytes…"
//   \u0000 in strings           "values QEMU could send are delivered as they are" here
//   NaN and huge numbers        "values that are not JSON numbers" (1e999 too) and "…delivered…" here
//   duplicate keys              "duplicate keys: the last one counts" here
//   wrong types for members     hostile_test "replies/events of the wrong shape", "a bad greeting…";
//                               "members of the wrong type" here
//   replies before the greeting hostile_test "a bad greeting or a reply before it…"
//   two greetings               hostile_test "a second greeting is fatal" and "…while negotiating"
//   replies to ids never sent   hostile_test "replies with unknown ids…"
//   the same reply twice        hostile_test "a duplicate reply for the same id…"
//   an event with no timestamp  hostile_test "events of the wrong shape" (event without timestamp)
//   a 0xFF mid-frame            hostile_test (a raw 0xFF inside a string); "0xFF bytes" here
//   EOF in every state          "EOF in every state" here
//   a slow drip                 "a slow drip" here (and every check runs byte by byte)
//   a flood of events           hostile_test "a flood of events…"; "a flood with no reply" here
#include <cstdint>
#include <string_view>
#include <string>
#include <vector>

#include "hostile_harness.hpp"

using namespace qwire::test::hostile;
using qwire::errc;
using qwire::test::caps_ok;
using qwire::test::greeting_oob;
using qwire::test::scenario;
using namespace std::string_literals;

namespace {

// A stream the session survives after the usual start: `events` follow it (requests 1 and 2
// failing at the EOF that ends each run among them), then the disconnect.
struct surviving {
    const char* what;
    std::string bytes;
    strings events;  // after the usual start's four events, up to the disconnect
    std::uint64_t violations = 0;
};

void check_surviving(const std::vector<surviving>& rows) {
    for (const surviving& row : rows) {
        DYNAMIC_SECTION(row.what) {
            scenario s = three_commands();
            s.after = eof_expecting(row.violations);
            strings expected = {"greeting oob", "ready oob", reply0_seen, stop_seen};
            expected.insert(expected.end(), row.events.begin(), row.events.end());
            expected.push_back(disconnect(errc::peer_closed));
            s.check(head + row.bytes, expected);
        }
    }
}

}  // namespace

TEST_CASE("qmp hostile values: values QEMU could send are delivered as they are") {
    check_surviving({
        {"a \\u0000 escape in a reply", R"({"return": "a\u0000b", "id": 1})" "\r\n",
         {R"(reply 1 "a\u0000b")", failed2}},
        {"a \\u0000 escape in a key and an event name",
         R"({"event": "ST\u0000P", "data": {"\u0000": 0}, "timestamp": {"seconds": 1, "microseconds": 2}})" "\r\n",
         {"event ST\0P {\"\\u0000\":0} 1.2"s, failed1, failed2}},
        {"a surrogate pair escape", R"({"return": "\ud83d\ude00", "id": 1})" "\r\n",
         {"reply 1 \"\xf0\x9f\x98\x80\"", failed2}},
        {"an integer beyond uint64 becomes a double", R"({"return": 123456789012345678901234567890, "id": 1})" "\r\n",
         {"reply 1 1.2345678901234568e+29", failed2}},
        {"an empty event name and an empty error class",
         R"({"event": "", "timestamp": {"seconds": 1, "microseconds": 2}})" "\r\n"
         R"({"error": {"class": "", "desc": "x"}, "id": 1})" "\r\n",
         {"event  null 1.2", "error_reply 1 : x", failed2}},
        {"return null and an id beyond uint64", R"({"return": null, "id": 18446744073709551616})" "\r\n"
                                                R"({"return": null, "id": 2})" "\r\n",
         {"violation unknown_reply_id", "reply 2 null", failed1}, 1},
        {"the id 1.0 is not the id 1", R"({"return": {}, "id": 1.0})" "\r\n",
         {"violation unknown_reply_id", failed1, failed2}, 1},
        {"unknown members beside return, error and event",
         R"({"return": 7, "id": 1, "extra": [1]})" "\r\n"
         R"({"event": "X", "timestamp": {"seconds": 1, "microseconds": 2, "nanoseconds": 3}, "more": {}})" "\r\n",
         {"reply 1 7", "event X null 1.2", failed2}},
    });
}

TEST_CASE("qmp hostile values: duplicate keys: the last one counts") {
    // QEMU never sends duplicate keys; the client's JSON parser keeps the last value of a key.
    check_surviving({
        {"return twice", R"({"return": 1, "return": 2, "id": 1})" "\r\n", {"reply 1 2", failed2}},
        {"id twice names the second request", R"({"id": 1, "return": "x", "id": 2})" "\r\n",
         {"reply 2 \"x\"", failed1}},
        {"event twice", R"({"event": "A", "event": "B", "timestamp": {"seconds": 1, "microseconds": 2}})" "\r\n",
         {"event B null 1.2", failed1, failed2}},
    });
}

TEST_CASE("qmp hostile values: values that are not JSON numbers are fatal") {
    check_after_usual_start({
        {"NaN as a value", R"({"return": NaN, "id": 1})", errc::malformed_json},
        {"Infinity as a value", R"({"return": Infinity, "id": 1})", errc::malformed_json},
        {"an exponent beyond double", R"({"return": [1e999], "id": 1})", errc::malformed_json},
        {"a bare NaN between messages: its N", "N", errc::malformed_json},
        {"a leading plus", R"({"return": +1, "id": 1})", errc::malformed_json},
        {"a hex number", R"({"return": 0x10, "id": 1})", errc::malformed_json},
        {"a leading zero", R"({"return": 012, "id": 1})", errc::malformed_json},
    });
}

TEST_CASE("qmp hostile values: members of the wrong type are fatal") {
    check_after_usual_start({
        {"event data not an object", R"({"event": "STOP", "data": 5, "timestamp": {"seconds": 1, "microseconds": 2}})",
         errc::unexpected_message},
        {"timestamp seconds null", R"({"event": "STOP", "timestamp": {"seconds": null, "microseconds": 2}})",
         errc::unexpected_message},
        {"error an array", R"({"error": ["GenericError", "x"], "id": 1})", errc::unexpected_message},
    });
    const strings held_fail = {failed0, failed1, failed2, disconnect(errc::unexpected_message)};
    SECTION("greeting version not an object") {
        check_fatal(three_commands(), R"({"QMP": {"version": "7.2", "capabilities": []}})", held_fail);
    }
    SECTION("greeting capabilities null") {
        check_fatal(three_commands(), R"({"QMP": {"version": {}, "capabilities": null}})", held_fail);
    }
}

TEST_CASE("qmp hostile values: 0xFF bytes outside strings are fatal") {
    check_after_usual_start({
        {"0xFF between messages", "\xff", errc::malformed_json},
        {"0xFF between the tokens of a reply", "{\"return\": \xff{}, \"id\": 1}", errc::invalid_utf8},
        {"0xFF in place of a key", "{\xff: 1}", errc::invalid_utf8},
    });
}

TEST_CASE("qmp hostile values: nesting one past the default limit (1024) is fatal") {
    check_after_usual_start({{"1025 arrays", "{\"return\": " + std::string(1024, '['), errc::nesting_too_deep}});
}

TEST_CASE("qmp hostile values: EOF in every state") {
    scenario s = three_commands();
    s.after = [](qmp::client& c) { REQUIRE(c.receive_eof()); };
    const strings held_fail = {failed0, failed1, failed2};
    const auto then = [](strings events, errc reason) {
        events.push_back(disconnect(reason));
        return events;
    };
    SECTION("awaiting the greeting, inside it") {
        s.check(greeting_oob.substr(0, 40), then(held_fail, errc::connection_lost));
    }
    SECTION("negotiating: qmp_capabilities sent, no reply") {
        strings e = {"greeting oob"};
        e.insert(e.end(), held_fail.begin(), held_fail.end());
        s.check(greeting_oob, then(e, errc::peer_closed));
    }
    SECTION("negotiating, inside the capabilities reply") {
        strings e = {"greeting oob"};
        e.insert(e.end(), held_fail.begin(), held_fail.end());
        s.check(cat({greeting_oob, caps_ok.substr(0, 5)}), then(e, errc::connection_lost));
    }
    SECTION("ready, with every request answered") {
        s.check(cat({head, R"({"return": 1, "id": 1})", "\r\n", R"({"return": 2, "id": 2})", "\r\n"}),
                {"greeting oob", "ready oob", reply0_seen, stop_seen, "reply 1 1", "reply 2 2",
                 disconnect(errc::peer_closed)});
    }
    SECTION("closing, after close(): refused") {
        s.after = [](qmp::client& c) {
            REQUIRE(c.close());
            CHECK(!c.receive_eof());
        };
        s.check(head, {"greeting oob", "ready oob", reply0_seen, stop_seen, "request_failed 1 cancelled",
                       "request_failed 2 cancelled", disconnect(errc::closed)});
    }
}

TEST_CASE("qmp hostile values: a slow drip, one byte per receive(), gives what the whole stream gives") {
    scenario s = three_commands();
    s.after = eof_expecting(0);
    const std::string stream =
        cat({head, R"({"return": 1, "id": 1})", "\r\n", stop_event, R"({"return": 2, "id": 2})"});
    const strings expected = {"greeting oob", "ready oob", reply0_seen, stop_seen, "reply 1 1", stop_seen,
                              "reply 2 2", disconnect(errc::peer_closed)};
    CHECK(s.run(qwire::test::cut_every(stream, 1)).events == expected);
    CHECK(s.run({stream}).events == expected);
}

TEST_CASE("qmp hostile values: a flood of events with no reply stays within the bound; EOF fails the requests") {
    qmp::client_options options;
    options.max_undelivered_events = 5;
    scenario s = three_commands(options);
    s.after = [](qmp::client& c) {
        CHECK(c.events_dropped() == 1995);
        CHECK(c.pending_requests() == 2);
        REQUIRE(c.receive_eof());
    };
    std::string stream = cat({greeting_oob, caps_ok, reply0});
    for (int k = 1; k <= 2000; ++k)
        stream += R"({"event": "E", "timestamp": {"seconds": )" + std::to_string(k) + R"(, "microseconds": 0}})" "\r\n";
    strings expected = {"greeting oob", "ready oob", reply0_seen};
    for (int k = 1996; k <= 2000; ++k) expected.push_back("event E null " + std::to_string(k) + ".0");
    expected.insert(expected.end(), {failed1, failed2, disconnect(errc::peer_closed)});
    s.check(stream, expected, 64);
}
