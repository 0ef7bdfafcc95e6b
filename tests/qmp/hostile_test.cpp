// qwire::qmp::client against a hostile or broken server: malformed JSON, invalid UTF-8, limits,
// messages of the wrong shape, ids that match nothing, EOF and transport failures, event floods.
// Every stream runs whole, byte by byte and at every two-piece split (scenario::check, or
// check_fatal in hostile_harness.hpp for streams that end the session), and must end in exactly the events
// listed: what came before the fault, then each pending request failed with connection_lost in
// request order, then one disconnect naming the fault. Nothing after the fault is delivered.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hostile_harness.hpp"

namespace qmp = qwire::qmp;
using qwire::errc;
using qwire::test::caps_ok;
using qwire::test::greeting_oob;
using qwire::test::greeting_plain;
using qwire::test::scenario;
using json = nlohmann::json;
using strings = std::vector<std::string>;
using namespace qwire::test::hostile;
using namespace std::string_literals;

// --- bytes that are not JSON ---------------------------------------------------------------

TEST_CASE("qmp hostile: bytes that are not JSON are fatal (malformed_json)") {
    check_after_usual_start({
        {"garbage inside an object", R"({"return": {}, "id": 1 oops})", errc::malformed_json},
        {"a bare word", "nonsense ", errc::malformed_json},
        {"single quotes", R"({'return': {}, 'id': 1})", errc::malformed_json},
        {"a trailing comma", R"({"return": {}, "id": 1,})", errc::malformed_json},
        {"a mismatched bracket", R"({"return": [1, 2})", errc::malformed_json},
        {"a byte that cannot start a value", "@", errc::malformed_json},
        {"a stray closing brace", "}", errc::malformed_json},
        {"a stray closing bracket", "]", errc::malformed_json},
        {"a comma between messages", ",", errc::malformed_json},
        {"a NUL byte between messages", "\0"s, errc::malformed_json},
    });
}

TEST_CASE("qmp hostile: a JSON value that is not an object is fatal (unexpected_message)") {
    check_after_usual_start({
        {"a top-level array", R"([{"return": {}, "id": 1}])", errc::unexpected_message},
        {"a top-level string", R"("return")", errc::unexpected_message},
        // A bare number is complete only when the byte after it arrives.
        {"a top-level number", "42\r", errc::unexpected_message},
        {"a top-level literal", "true\n", errc::unexpected_message},
    });
}

// --- strings: UTF-8, escapes, control bytes --------------------------------------------------

TEST_CASE("qmp hostile: invalid UTF-8 is fatal (invalid_utf8)") {
    check_after_usual_start({
        {"a raw 0xFF byte inside a string",
         "{\"event\": \"ST\xff" "OP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}", errc::invalid_utf8},
        {"an overlong encoding C0 AF", "{\"return\": \"\xc0\xaf\", \"id\": 1}", errc::invalid_utf8},
        {"a truncated multibyte sequence", "{\"return\": \"\xe2\x82\", \"id\": 1}", errc::invalid_utf8},
        {"an encoded surrogate ED A0 80", "{\"return\": \"\xed\xa0\x80\", \"id\": 1}", errc::invalid_utf8},
        {"a code point above U+10FFFF", "{\"return\": \"\xf4\x90\x80\x80\", \"id\": 1}", errc::invalid_utf8},
        {"a continuation byte in a key", "{\"ret\x80" "urn\": {}, \"id\": 1}", errc::invalid_utf8},
    });
}

TEST_CASE("qmp hostile: bad escapes and raw control bytes in strings are fatal (malformed_json)") {
    // The bytes are valid UTF-8, so these are JSON errors, not UTF-8 errors.
    check_after_usual_start({
        {"a lone \\ud800 escape", R"({"return": "\ud800", "id": 1})", errc::malformed_json},
        {"a lone \\udc00 escape", R"({"return": "\udc00", "id": 1})", errc::malformed_json},
        {"\\ud800 followed by a non-surrogate", R"({"return": "\ud800\u0041", "id": 1})", errc::malformed_json},
        {"an unknown escape", R"({"return": "\q", "id": 1})", errc::malformed_json},
        {"a raw 0x01 byte inside a string", "{\"return\": \"a\x01" "b\", \"id\": 1}", errc::malformed_json},
        {"a raw NUL byte inside a string", "{\"return\": \"a\0b\", \"id\": 1}"s, errc::malformed_json},
        {"a raw line feed inside a string", "{\"return\": \"a\nb\", \"id\": 1}", errc::malformed_json},
    });
}

// --- limits ------------------------------------------------------------------------------------

TEST_CASE("qmp hostile: a frame over max_frame_bytes is fatal at the byte that breaks the limit") {
    constexpr std::size_t limit = 200;
    static_assert(greeting_oob.size() <= limit);
    qmp::client_options options;
    options.max_frame_bytes = limit;

    // A reply of exactly the limit is accepted (the CRLF after it is not part of the frame).
    const std::string open = "{\"return\": \"", close0 = "\", \"id\": 0}";
    const std::string filler(limit - open.size() - close0.size(), 'a');
    const std::string at_limit = open + filler + close0;
    REQUIRE(at_limit.size() == limit);

    const std::string big_reply(limit + 1 - open.size(), 'b');  // the frame's byte limit + 1
    const std::string stream = cat({greeting_oob, caps_ok, at_limit, "\r\n", stop_event, open, big_reply});
    check_fatal(three_commands(options), stream,
                {"greeting oob", "ready oob", "reply 0 \"" + filler + "\"", stop_seen, failed1, failed2,
                 disconnect(errc::frame_too_large)},
                1, "bbbb\", \"id\": 1}\r\n"s + std::string(valid_tail));

    SECTION("a bare number of exactly the limit is a frame (and not a message)") {
        const std::string digits(limit, '7');
        check_fatal(three_commands(options), head + digits + " ", usual_fatal(errc::unexpected_message));
    }
    SECTION("a bare number over the limit") {
        const std::string digits(limit + 1, '7');
        check_fatal(three_commands(options), head + digits, usual_fatal(errc::frame_too_large), 1, "777 ");
    }
}

TEST_CASE("qmp hostile: nesting over max_depth is fatal at the bracket that breaks the limit") {
    qmp::client_options options;
    options.max_depth = 4;  // the greeting nests exactly 4 deep
    // Depth 4 is accepted, and brackets inside strings do not count.
    const std::string deep_ok = R"({"return": [[["[[[[{{{{"]]], "id": 0})" "\r\n";
    const strings before_fault = {"greeting oob", "ready oob", R"(reply 0 [[["[[[[{{{{"]]])", stop_seen};
    const auto expected = [&] {
        strings e = before_fault;
        e.insert(e.end(), {failed1, failed2, disconnect(errc::nesting_too_deep)});
        return e;
    }();
    SECTION("arrays") {
        check_fatal(three_commands(options), cat({greeting_oob, caps_ok, deep_ok, stop_event, R"({"return": [[[[)"}),
                    expected, 1, "]]]], \"id\": 1}\r\n");
    }
    SECTION("objects") {
        check_fatal(three_commands(options),
                    cat({greeting_oob, caps_ok, deep_ok, stop_event, R"({"return": {"a": {"b": {"c": {)"}), expected, 1,
                    "}}}}, \"id\": 1}\r\n");
    }
}

// --- messages of the wrong shape ---------------------------------------------------------------

TEST_CASE("qmp hostile: replies of the wrong shape are fatal (unexpected_message)") {
    check_after_usual_start({
        {"neither return nor error", R"({"id": 1})", errc::unexpected_message},
        {"an empty object", "{}", errc::unexpected_message},
        {"both return and error",
         R"({"return": {}, "error": {"class": "GenericError", "desc": "x"}, "id": 1})", errc::unexpected_message},
        {"error is not an object", R"({"error": "boom", "id": 1})", errc::unexpected_message},
        {"error without class", R"({"error": {"desc": "no class"}, "id": 1})", errc::unexpected_message},
        {"error class not a string", R"({"error": {"class": 7, "desc": "x"}, "id": 1})", errc::unexpected_message},
        {"error without desc", R"({"error": {"class": "GenericError"}, "id": 1})", errc::unexpected_message},
        {"error desc not a string", R"({"error": {"class": "GenericError", "desc": null}, "id": 1})",
         errc::unexpected_message},
    });
}

TEST_CASE("qmp hostile: events of the wrong shape are fatal (unexpected_message)") {
    check_after_usual_start({
        {"event name not a string", R"({"event": 5, "timestamp": {"seconds": 1, "microseconds": 2}})",
         errc::unexpected_message},
        {"event without timestamp", R"({"event": "STOP"})", errc::unexpected_message},
        {"timestamp not an object", R"({"event": "STOP", "timestamp": 1700000000})", errc::unexpected_message},
        {"timestamp seconds not an integer", R"({"event": "STOP", "timestamp": {"seconds": 1.5, "microseconds": 0}})",
         errc::unexpected_message},
        {"timestamp microseconds a string", R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": "0"}})",
         errc::unexpected_message},
        {"timestamp without microseconds", R"({"event": "STOP", "timestamp": {"seconds": 1}})",
         errc::unexpected_message},
        // Integers, but not representable in timestamp's int64: must not wrap (here to -1, "no clock").
        {"timestamp seconds beyond int64",
         R"({"event": "STOP", "timestamp": {"seconds": 18446744073709551615, "microseconds": 0}})",
         errc::unexpected_message},
        {"timestamp microseconds beyond int64",
         R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 9223372036854775808}})",
         errc::unexpected_message},
    });
}

TEST_CASE("qmp hostile: a second greeting is fatal") {
    check_after_usual_start({{"a second greeting", std::string(greeting_oob.substr(0, greeting_oob.size() - 2)),
                              errc::unexpected_message}});
}

// --- the greeting and negotiation --------------------------------------------------------------

TEST_CASE("qmp hostile: a bad greeting or a reply before it is fatal; held commands fail") {
    const strings held_fail = {failed0, failed1, failed2, disconnect(errc::unexpected_message)};
    struct greeting_case {
        const char* what;
        std::string bytes;
        strings seen;  // events before the held commands fail
    };
    const std::vector<greeting_case> cases = {
        {"a reply before the greeting", cat({stop_event, R"({"return": {}, "id": 0})"}), {stop_seen}},
        {"\"QMP\" not an object", R"({"QMP": ["oob"]})", {}},
        {"capabilities not an array", R"({"QMP": {"version": {}, "capabilities": "oob"}})", {}},
        {"a capability not a string", R"({"QMP": {"version": {}, "capabilities": ["oob", 1]}})", {}},
        {"no version", R"({"QMP": {"capabilities": []}})", {}},
        {"qmp_capabilities refused with an error reply",
         cat({greeting_oob,
              R"({"error": {"class": "CommandNotFound", "desc": "The command qmp_capabilities has not been found"}})"}),
         {"greeting oob"}},
        {"a second greeting while negotiating", cat({greeting_oob, greeting_plain.substr(0, greeting_plain.size() - 2)}),
         {"greeting oob"}},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what) {
            strings expected = c.seen;
            expected.insert(expected.end(), held_fail.begin(), held_fail.end());
            check_fatal(three_commands(), c.bytes, expected);
        }
    }
}

// --- ids ---------------------------------------------------------------------------------------

TEST_CASE("qmp hostile: an id-less error reply while two requests wait is fatal") {
    check_after_usual_start({{"an id-less error, requests 1 and 2 waiting",
                              R"({"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}})",
                              errc::unexpected_message}});
}

TEST_CASE("qmp hostile: an id-less error reply while exactly one request waits is attributed to it") {
    SECTION("without OOB only request 0 is in flight; request 1 is held") {
        scenario s = executing({"query-status", "query-name"});
        s.after = eof_expecting(0);
        s.check(cat({greeting_plain, caps_ok, R"({"error": {"class": "GenericError", "desc": "Invalid JSON syntax"}})",
                     "\r\n", R"({"return": {"name": "vm"}, "id": 1})", "\r\n"}),
                {"greeting", "ready", "error_reply 0 GenericError: Invalid JSON syntax", R"(reply 1 {"name":"vm"})",
                 disconnect(errc::peer_closed)});
    }
    SECTION("with OOB after the other request was answered") {
        scenario s = executing({"query-status", "query-name"});
        s.after = eof_expecting(0);
        s.check(cat({greeting_oob, caps_ok, R"({"return": {}, "id": 1})", "\r\n",
                     R"({"error": {"class": "GenericError", "desc": "Invalid JSON syntax"}})", "\r\n"}),
                {"greeting oob", "ready oob", "reply 1 {}", "error_reply 0 GenericError: Invalid JSON syntax",
                 disconnect(errc::peer_closed)});
    }
}

TEST_CASE("qmp hostile: replies with unknown ids are dropped and reported; the session goes on") {
    scenario s = executing({"query-status", "query-name"});
    s.after = eof_expecting(5);
    const std::string unknown = cat({
        R"({"return": {}, "id": 99})", "\r\n",
        R"({"return": {}, "id": "0"})", "\r\n",  // the string "0" is not the number 0
        R"({"return": {}, "id": {"a": 1}})", "\r\n",
        R"({"return": {}, "id": [0]})", "\r\n",
        R"({"error": {"class": "GenericError", "desc": "x"}, "id": null})", "\r\n",
    });
    const std::string v = "violation unknown_reply_id";
    s.check(cat({greeting_oob, caps_ok, unknown, R"({"return": 1, "id": 1})", "\r\n", R"({"id": 0, "return": 0})",
                 "\r\n"}),
            {"greeting oob", "ready oob", v, v, v, v, v, "reply 1 1", "reply 0 0", disconnect(errc::peer_closed)});
}

TEST_CASE("qmp hostile: an object id matches only its request, whatever the key order") {
    scenario s;
    s.before = [](qmp::client& c) {
        qmp::exec_options o;
        o.id = json{{"vm", "a"}, {"n", 1}};
        REQUIRE(c.execute("query-status", nullptr, o));
        REQUIRE(c.execute("query-name"));
    };
    s.after = eof_expecting(1);
    s.check(cat({greeting_oob, caps_ok, R"({"return": {}, "id": {"vm": "b", "n": 1}})", "\r\n",
                 R"({"id": {"n": 1, "vm": "a"}, "return": "x"})", "\r\n", R"({"return": {}, "id": 1})", "\r\n"}),
            {"greeting oob", "ready oob", "violation unknown_reply_id", "reply 0 \"x\"", "reply 1 {}",
             disconnect(errc::peer_closed)});
}

TEST_CASE("qmp hostile: a duplicate reply for the same id is dropped and reported") {
    scenario s = executing({"query-status", "query-name"});
    s.after = eof_expecting(1);
    s.check(cat({greeting_oob, caps_ok, R"({"return": 1, "id": 0})", "\r\n", R"({"return": 2, "id": 0})", "\r\n",
                 R"({"return": 3, "id": 1})", "\r\n"}),
            {"greeting oob", "ready oob", "reply 0 1", "violation unknown_reply_id", "reply 1 3",
             disconnect(errc::peer_closed)});
}

TEST_CASE("qmp hostile: a reply naming a request still held is dropped and reported") {
    // Without OOB only request 0 is sent; request 1 waits in the client until 0 is answered.
    scenario s = executing({"query-status", "query-name"});
    s.after = eof_expecting(1);
    const auto log = s.check(cat({greeting_plain, caps_ok, R"({"return": "early", "id": 1})", "\r\n",
                                  R"({"return": "a", "id": 0})", "\r\n", R"({"return": "b", "id": 1})", "\r\n"}),
                             {"greeting", "ready", "violation unknown_reply_id", "reply 0 \"a\"", "reply 1 \"b\"",
                              disconnect(errc::peer_closed)});
    CHECK(log.written == R"({"execute":"qmp_capabilities"}{"execute":"query-status","id":0})"
                         R"({"execute":"query-name","id":1})");
}

TEST_CASE("qmp hostile: a reply with an id during negotiation is dropped and reported") {
    scenario s = executing({"query-status"});
    s.after = eof_expecting(1);
    s.check(cat({greeting_oob, R"({"return": {}, "id": 0})", "\r\n", caps_ok, R"({"return": {}, "id": 0})", "\r\n"}),
            {"greeting oob", "violation unknown_reply_id", "ready oob", "reply 0 {}", disconnect(errc::peer_closed)});
}

TEST_CASE("qmp hostile: non-fatal violations are counted with the fatal one") {
    check_fatal(three_commands(),
                cat({head, R"({"return": {}, "id": 42})", "\r\n", R"({"return": {}, "id": 0})", "\r\n", "[]"}),
                {"greeting oob", "ready oob", reply0_seen, stop_seen, "violation unknown_reply_id",
                 "violation unknown_reply_id", failed1, failed2, disconnect(errc::unexpected_message)},
                3);
}

// --- EOF and transport failures ------------------------------------------------------------------

TEST_CASE("qmp hostile: EOF inside a message is connection_lost, between messages peer_closed") {
    scenario s = three_commands();
    s.after = [](qmp::client& c) {
        REQUIRE(c.receive_eof());
        CHECK(c.violations() == 0);
        CHECK(is_refused(c.receive_eof()));
    };
    const strings lost = {"greeting oob", "ready oob", reply0_seen, stop_seen, failed1, failed2,
                          disconnect(errc::connection_lost)};
    SECTION("in the middle of an object") { s.check(head + R"({"return": {"status": "runn)", lost); }
    SECTION("inside a string that holds a closing brace") { s.check(head + R"({"return": "}])", lost); }
    SECTION("between messages, after whitespace") {
        s.check(head + " \r\n\t\r\n", {"greeting oob", "ready oob", reply0_seen, stop_seen, failed1, failed2,
                                         disconnect(errc::peer_closed)});
    }
    SECTION("before the greeting: held commands fail") {
        s.check("", {failed0, failed1, failed2, disconnect(errc::peer_closed)});
    }
}

TEST_CASE("qmp hostile: a transport failure keeps its std::error_code as the cause") {
    const std::error_code ec = std::make_error_code(std::errc::connection_reset);
    SECTION("every split, in the middle of a message") {
        scenario s = three_commands();
        s.after = [ec](qmp::client& c) { REQUIRE(c.transport_failed(ec)); };
        s.check(head + R"({"return": {)",
                {"greeting oob", "ready oob", reply0_seen, stop_seen, failed1, failed2,
                 disconnect(errc::connection_lost)});
    }
    SECTION("the cause is on each failed request and on the disconnect") {
        auto c = qwire::test::ready_client();
        REQUIRE(c.execute("query-status"));
        REQUIRE(c.execute("query-name"));
        qwire::test::drain_output(c);
        REQUIRE(c.transport_failed(ec));
        for (std::uint64_t id : {0u, 1u}) {
            const auto e = c.next_event();
            REQUIRE(e);
            const auto* failed = std::get_if<qwire::request_failed>(&*e);
            REQUIRE(failed);
            CHECK(failed->id.value == id);
            CHECK(failed->error.code() == errc::connection_lost);
            CHECK(failed->error.cause() == ec);
        }
        const auto e = c.next_event();
        REQUIRE(e);
        const auto* d = std::get_if<qwire::disconnect>(&*e);
        REQUIRE(d);
        CHECK(d->reason.code() == errc::connection_lost);
        CHECK(d->reason.cause() == ec);
        CHECK(!c.next_event());
        CHECK(c.state() == qmp::client_state::closed);
    }
}

// --- what a fatal violation leaves behind ----------------------------------------------------------

TEST_CASE("qmp hostile: after a fatal violation every input and command is refused") {
    auto c = qwire::test::ready_client();
    REQUIRE(c.execute("query-status"));
    qwire::test::drain_output(c);
    REQUIRE(c.receive(R"({"return": {}, "id": 7})" "\r\n"));  // unknown id: counted, not fatal
    CHECK(c.violations() == 1);
    CHECK(c.is_open());
    REQUIRE(c.receive("[1]\r\n" R"({"return": {}, "id": 0})" "\r\n"));  // fatal; the reply after it is ignored
    CHECK(c.violations() == 2);
    CHECK(c.state() == qmp::client_state::closing);
    CHECK(is_refused(c.receive(R"({"return": {}, "id": 0})" "\r\n")));
    CHECK(is_refused(c.execute("query-name")));
    CHECK(qwire::test::drain_events(c) ==
          strings{"violation unknown_reply_id", failed0, disconnect(errc::unexpected_message)});
    CHECK(c.state() == qmp::client_state::closed);
    CHECK(!c.next_event());
    CHECK(is_refused(c.receive("\r\n")));
    CHECK(is_refused(c.receive_eof()));
    CHECK(is_refused(c.transport_failed(std::make_error_code(std::errc::broken_pipe))));
    CHECK(is_refused(c.handle_timeout(qwire::time_point{})));
    CHECK(is_refused(c.execute("query-name")));
    CHECK(is_refused(c.cancel(qwire::request_id{0})));
    CHECK(is_refused(c.close()));
    CHECK(c.pending_output().bytes.empty());
    CHECK(!c.next_event());
    CHECK(c.violations() == 2);
}

// --- events ------------------------------------------------------------------------------------

TEST_CASE("qmp hostile: events with -1 timestamps and no data are accepted in every state") {
    scenario s = executing({"query-status"});
    s.after = eof_expecting(0);
    s.check(cat({R"({"event": "SHUTDOWN", "data": {"guest": false}, "timestamp": {"seconds": -1, "microseconds": -1}})",
                 "\r\n", greeting_oob, R"({"timestamp": {"seconds": -1, "microseconds": -1}, "event": "STOP"})", "\r\n",
                 caps_ok, R"({"event": "RESUME", "data": null, "timestamp": {"microseconds": -1, "seconds": -1}})",
                 "\r\n", R"({"return": {}, "id": 0})", "\r\n"}),
            {R"(event SHUTDOWN {"guest":false} -1.-1)", "greeting oob", "event STOP null -1.-1", "ready oob",
             "event RESUME null -1.-1", "reply 0 {}", disconnect(errc::peer_closed)});
}

TEST_CASE("qmp hostile: a flood of events is bounded by the overflow policy; replies are never dropped") {
    // Ten events with room for three, and the two replies among them.
    std::string stream = cat({greeting_oob, caps_ok});
    const auto ev = [](int k) {
        return R"({"event": "E)" + std::to_string(k) + R"(", "timestamp": {"seconds": )" + std::to_string(k) +
               R"(, "microseconds": 0}})" "\r\n";
    };
    for (int k = 1; k <= 5; ++k) stream += ev(k);
    stream += R"({"return": {}, "id": 0})" "\r\n";
    for (int k = 6; k <= 10; ++k) stream += ev(k);
    stream += R"({"return": {}, "id": 1})" "\r\n";
    const auto seen = [](int k) { return "event E" + std::to_string(k) + " null " + std::to_string(k) + ".0"; };

    qmp::client_options options;
    options.max_undelivered_events = 3;
    const auto after = [](qmp::client& c) {
        CHECK(c.events_dropped() == 7);
        CHECK(c.violations() == 0);
        REQUIRE(c.receive_eof());
    };
    SECTION("drop_oldest keeps the newest three") {
        options.on_event_overflow = qwire::overflow_policy::drop_oldest;
        scenario s = executing({"query-status", "query-name"}, options);
        s.after = after;
        s.check(stream, {"greeting oob", "ready oob", "reply 0 {}", seen(8), seen(9), seen(10), "reply 1 {}",
                         disconnect(errc::peer_closed)});
    }
    SECTION("drop_newest keeps the oldest three") {
        options.on_event_overflow = qwire::overflow_policy::drop_newest;
        scenario s = executing({"query-status", "query-name"}, options);
        s.after = after;
        s.check(stream, {"greeting oob", "ready oob", seen(1), seen(2), seen(3), "reply 0 {}", "reply 1 {}",
                         disconnect(errc::peer_closed)});
    }
}

TEST_CASE("qmp hostile: a megabyte of whitespace between messages is skipped, not buffered as a frame") {
    qmp::client_options options;
    options.max_frame_bytes = 256;  // far below the whitespace run
    scenario s = executing({"query-status"}, options);
    s.after = eof_expecting(0);
    std::string whitespace;
    while (whitespace.size() < 1024 * 1024) whitespace += " \t\r\n";
    s.check(cat({greeting_oob, whitespace, caps_ok, whitespace, reply0, whitespace, stop_event, whitespace}),
            {"greeting oob", "ready oob", reply0_seen, stop_seen, disconnect(errc::peer_closed)}, 64);
}
