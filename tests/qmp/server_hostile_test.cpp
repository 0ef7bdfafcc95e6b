// qwire::qmp::server against a hostile client: malformed JSON, invalid UTF-8, strays, limits,
// requests of the wrong shape, odd ids. The server must answer each like QEMU 7.2, go on
// serving, and report each malformed message as a protocol_violation event, never crash.
//
// The table below was recorded from qemu-system-x86_64 7.2.22 (-machine none, OOB enabled):
// each input was written in turn on one connection, so a case can depend on the one before
// (after a stray byte QEMU skips input up to the next structural or control character).
#include <cstdint>

#include "qwire/framing/json_framer.hpp"
#include "server_harness.hpp"

namespace qwire::test {
namespace {

using json = nlohmann::json;

struct hostile_case {
    const char* name;
    std::string input;
    std::string qemu_reply;
};

const std::vector<hostile_case>& recorded_cases() {
    static const std::vector<hostile_case> cases = {
        {"duplicate key", "{\"execute\":\"query-status\",\"id\":1,\"id\":2}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, duplicate key\"}}\r\n"},
        {"a stray closing brace", "}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"a stray closing bracket", "]",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"no colon", "{\"execute\" \"x\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, missing : in object pair\"}}\r\n"},
        {"a trailing comma", "{\"execute\":\"x\",}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"an unknown keyword", "foo\n",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'foo'\"}}\r\n"},
        {"a control byte", "\x01",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u0001'\"}}\r\n"},
        {"a 0xFF byte", "\xff",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\r\n"},
        {"invalid UTF-8 in a string", "{\"a\":\"\xc3(\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid UTF-8 sequence in string\"}}\r\n"},
        {"an overlong UTF-8 sequence", "{\"id\":\"\xc0\xaf\",\"execute\":\"x\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid UTF-8 sequence in string\"}}\r\n"},
        {"a lone surrogate escape", "{\"id\":\"\\ud800\",\"execute\":\"x\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, \\\\ud800 is not a valid Unicode character\"}}\r\n"},
        {"a noncharacter escape", "{\"id\":\"\\uFFFE\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, \\\\uFFFE is not a valid Unicode character\"}}\r\n"},
        {"an invalid escape", "{\"execute\":\"x\",\"id\":\"\\q\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid escape sequence in string\"}}\r\n"},
        {"a raw tab inside a string", "{\"execute\":\"query-status\",\"id\":\"a\tb\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\\"a\\t'\"}}\r\n{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"a lone minus", "- ",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '- '\"}}\r\n"},
        {"a leading zero (skipped: still recovering)", "01 ",
         ""},
        {"a 0xFE inside an object", "{\"execute\":\xfe\"x\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\r\n{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"a number", "42 ",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"a string", "\"str\"",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"an array", "[1,2]",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"null", "null\n",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"execute not a string", "{\"execute\":1,\"id\":\"t\"}",
         "{\"id\": \"t\", \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}}\r\n"},
        {"arguments not an object, id an array", "{\"execute\":\"x\",\"arguments\":[],\"id\":[1,{\"b\":2,\"a\":1}]}",
         "{\"id\": [1, {\"a\": 1, \"b\": 2}], \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}}\r\n"},
        {"unexpected members, null id", "{\"execute\":\"x\",\"bar\":1,\"zzz\":2,\"id\":null}",
         "{\"id\": null, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'bar' is unexpected\"}}\r\n"},
        {"no execute", "{\"id\":5}",
         "{\"id\": 5, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member 'execute'\"}}\r\n"},
        {"exec-oob for a command without allow-oob", "{\"exec-oob\":\"query-status\",\"id\":\"o\"}",
         "{\"id\": \"o\", \"error\": {\"class\": \"GenericError\", \"desc\": \"The command query-status does not support OOB\"}}\r\n"},
        {"execute and exec-oob", "{\"exec-oob\":\"query-yank\",\"execute\":\"query-yank\",\"id\":\"c\"}",
         "{\"id\": \"c\", \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' clashes with 'exec-oob'\"}}\r\n"},
        {"qmp_capabilities again, single quotes", "{'execute':'qmp_capabilities','id':'sq'}",
         "{\"id\": \"sq\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete, command ignored\"}}\r\n"},
        {"an unknown command, nested id", "{\"execute\":\"no-such\",\"id\":{\"deep\":[[[]]],\"a\":-0.0}}",
         "{\"id\": {\"a\": -0, \"deep\": [[[]]]}, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command no-such has not been found\"}}\r\n"},
        {"bad argument types", "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":5,\"zz\":1},\"id\":25}",
         "{\"id\": 25, \"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'command-line', expected: string\"}}\r\n"},
        {"a bad enum value in a list", "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"xbzrle\",\"state\":true},{\"capability\":\"x\",\"state\":true}]},\"id\":26}",
         "{\"id\": 26, \"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'capability' does not accept value 'x'\"}}\r\n"},
        {"nesting too deep", std::string(1025, '['), "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON nesting depth limit exceeded\"}}\r\n"},
        {"an id that overflows a double", "{\"execute\":\"query-status\",\"id\":1e400}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": inf}\r\n"},
        {"an id with non-ASCII characters", "{\"execute\":\"query-status\",\"id\":\"\\u00e9\\ud83d\\ude00\\u007f\xc3\xa9\"}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": \"\\u00E9\\uD83D\\uDE00\\u007F\\u00E9\"}\r\n"},
        {"modified UTF-8 NUL", "{\"id\":\"a\xc0\x80" "b\",\"execute\":\"no-such\"}",
         "{\"id\": \"a\\u0000b\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command no-such has not been found\"}}\r\n"},
        {"two commands without a separator", "{\"execute\":\"query-status\",\"id\":\"p1\"}{\"execute\":\"query-status\",\"id\":\"p2\"}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": \"p1\"}\r\n{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": \"p2\"}\r\n"},
        {"an integer beyond uint64", "{\"execute\":\"query-status\",\"id\":18446744073709551616}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 1.8446744073709552e+19}\r\n"},
        {"a negative integer beyond int64", "{\"execute\":\"query-status\",\"id\":-9223372036854775809}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": -9.2233720368547758e+18}\r\n"},
        {"a fraction id", "{\"execute\":\"query-status\",\"id\":0.1}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 0.10000000000000001}\r\n"},
        {"an exponent id", "{\"execute\":\"query-status\",\"id\":-1.5E-3}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": -0.0015}\r\n"},
    };
    return cases;
}

const std::string caps_oob = R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})";

qmp::server_options with_schema() {
    qmp::server_options o;
    o.schema = corpus_schema();
    return o;
}

}  // namespace

TEST_CASE("qmp server answers hostile input as QEMU 7.2 does, case by case") {
    const qmp::server_options options = with_schema();
    if (!options.schema) QWIRE_SKIP("the corpus is missing");
    qmp::server server(options);
    drain_output(server);
    std::vector<std::string> events;
    REQUIRE(server.receive(caps_oob));
    serve(server, answer_at_once, events);
    CHECK(drain_output(server) == "{\"return\": {}}\r\n");
    for (const hostile_case& c : recorded_cases()) {
        INFO(c.name);
        REQUIRE(server.receive(c.input));
        serve(server, answer_at_once, events);
        CHECK(drain_output(server) == c.qemu_reply);
        CHECK(server.is_ready());
    }
    CHECK(server.violations() == 28);
    CHECK(server.rejected_commands() == 6);
    REQUIRE(server.receive_eof());
    serve(server, answer_at_once, events);
    CHECK(events.back() == "disconnect peer_closed");
}

TEST_CASE("qmp server answers the hostile stream the same in any pieces") {
    const qmp::server_options options = with_schema();
    if (!options.schema) QWIRE_SKIP("the corpus is missing");
    std::string input = caps_oob;
    std::string expected = std::string(greeting_oob) + "{\"return\": {}}\r\n";
    for (const hostile_case& c : recorded_cases()) {
        input += c.input;
        expected += c.qemu_reply;
    }
    server_scenario s;
    s.options = options;
    const server_log whole = s.run({input});
    CHECK(whole.written == expected);
    check_every_split<server_log>(input, whole, [&s](const pieces& p) { return s.run(p); }, 512);
}

TEST_CASE("qmp server reports malformed messages as typed violations") {
    server_scenario s;
    s.check(caps_oob + "}" + "\x01" + "{\"a\":\"\xc3(\"}" + std::string(1025, '[') + "[1]" + R"({"foo":1})",
            {"ready oob", "violation malformed_json: JSON parse error, expecting value",
             "violation malformed_json: JSON parse error, stray '\x01'",
             "violation malformed_json: JSON parse error, invalid UTF-8 sequence in string",
             "violation nesting_too_deep: JSON nesting depth limit exceeded",
             "violation unexpected_message: QMP input must be a JSON object",
             "violation unexpected_message: QMP input member 'foo' is unexpected"});
}

TEST_CASE("qmp server answers an empty command name itself, as QEMU does (found by fuzzing)") {
    // QEMU looks "" up like any name and answers CommandNotFound; the application never sees it.
    server_scenario s;
    const server_log log = s.check(caps_oob + R"({"execute":"","id":1})", {"ready oob"});
    CHECK(log.written.ends_with(
        "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command  has not been found\"}}\r\n"));
}

TEST_CASE("qmp server limits the size of one message") {
    // Past the limit QEMU drops the tokens so far and lexes on from the next byte: the rest of
    // the message comes out as stray values, each answered, then the stream is in step again.
    server_scenario s;
    s.options.max_message_bytes = 64;
    std::string big = R"({"execute":"x","arguments":{"a":[)";
    for (int i = 0; i < 40; ++i) big += "1,";
    big += "1]}}";
    const std::string input = caps_oob + big + R"({"execute":"after","id":1})";
    const server_log whole = s.run({input});
    REQUIRE(whole.events.size() > 3);
    CHECK(whole.events[1] == "violation frame_too_large: JSON token size limit exceeded");
    CHECK(whole.events.back() == "command 0 after {} id=1");
    CHECK(whole.written.find("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token size limit exceeded\"}}\r\n") !=
          std::string::npos);
    check_every_split<server_log>(input, whole, [&s](const pieces& p) { return s.run(p); });
}

TEST_CASE("qmp server survives random bytes") {
    // A deterministic pseudo-random stream, mostly JSON punctuation, after negotiation.
    std::uint64_t x = 0x9E3779B97F4A7C15u;
    const std::string alphabet = "{}[]:,\"'\\ 0123456789-.eEtruefalsnl\t\r\n\x01\x7f\xc3\xa9\xfe\xff";
    for (int round = 0; round < 20; ++round) {
        qmp::server server(with_schema());
        std::vector<std::string> events;
        std::string input = caps_oob;
        for (int i = 0; i < 2000; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            input += alphabet[x % alphabet.size()];
            if (x % 97 == 0) input += R"({"execute":"query-status"})";
        }
        for (std::size_t at = 0; at < input.size(); at += 1 + x % 50) {
            REQUIRE(server.receive(std::string_view(input).substr(at, 1 + x % 50)));
            serve(server, answer_at_once, events);
            const std::string out = drain_output(server);
            // Every message written is JSON QEMU-style (or holds QEMU's inf/nan numbers).
            json_framer framer;
            REQUIRE(framer.feed(out));
            for (auto r = framer.next(); r.status != frame_status::need_more; r = framer.next()) {
                REQUIRE(r.status == frame_status::frame);
            }
        }
        CHECK(server.is_open());
        REQUIRE(server.receive_eof());
        serve(server, answer_at_once, events);
        CHECK(events.back().rfind("disconnect", 0) == 0);
    }
}

}  // namespace qwire::test
