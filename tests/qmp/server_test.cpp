// qwire::qmp::server: greeting, negotiation, dispatch, answer order, OOB, suspension, events,
// the end of a session and misuse; and a qmp::client joined to it in memory. Expected bytes
// marked "QEMU 7.2" were recorded from qemu-system-x86_64 7.2.22 (-machine none).
#include <deque>

#include "server_harness.hpp"

namespace qwire::test {
namespace {

using json = nlohmann::json;

const std::string caps_oob = R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})";
const std::string caps_plain = R"({"execute":"qmp_capabilities"})";

// An application that keeps in-band commands and answers them when told; OOB ones at once.
struct deferring_app {
    std::deque<qmp::command> held;

    responder respond() {
        return [this](qmp::server& s, const qmp::command& c) {
            if (c.oob) {
                answer_at_once(s, c);
            } else {
                held.push_back(c);
            }
        };
    }
};

}  // namespace

TEST_CASE("qmp server greets like QEMU 7.2") {
    qmp::server server;
    CHECK(server.state() == qmp::server_state::negotiating);
    CHECK(drain_output(server) == greeting_oob);

    qmp::server_options plain;
    plain.capabilities = {};
    plain.version = {{"qemu", {{"major", 8}, {"minor", 0}, {"micro", 0}}}, {"package", ""}};
    qmp::server other(plain);
    CHECK(drain_output(other) == greeting_plain);

    qmp::server_options pretty;
    pretty.pretty = true;
    qmp::server indented(pretty);
    CHECK(drain_output(indented) ==
          "{\r\n    \"QMP\": {\r\n        \"version\": {\r\n            \"qemu\": {\r\n                \"micro\": 22,\r\n"
          "                \"minor\": 2,\r\n                \"major\": 7\r\n            },\r\n            \"package\": "
          "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"\r\n        },\r\n        \"capabilities\": [\r\n            \"oob\"\r\n"
          "        ]\r\n    }\r\n}\r\n");
}

TEST_CASE("qmp server negotiates like QEMU 7.2") {
    // QEMU 7.2's answers to each message, in this order, before and after negotiation.
    const std::string input = std::string(R"({"execute":"query-status","id":7})") +
                              R"({"exec-oob":"qmp_capabilities","id":3})" +
                              R"({"execute":"qmp_capabilities","arguments":{"enable":["bogus"]},"id":"e"})" +
                              R"({"execute":"qmp_capabilities","arguments":{"x":1}})" +
                              R"({"execute":"qmp_capabilities","arguments":{"enable":"oob"}})" + "null " +
                              R"({"execute":"qmp_capabilities","arguments":{"enable":["oob","oob"]},"id":1})" +
                              R"({"exec-oob":"qmp_capabilities","id":4})" +
                              R"({"execute":"qmp_capabilities","id":2})" +
                              R"({"execute":"query-version","arguments":{"enable":1}})";
    server_scenario s;
    const server_log log = s.check(input, {
        "violation unexpected_message: QMP input member 'exec-oob' is unexpected",
        "violation unexpected_message: QMP input must be a JSON object",
        "ready oob",
    });
    CHECK(log.written == std::string(greeting_oob) +
        "{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n"
        "{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}}\r\n"
        "{\"id\": \"e\", \"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'null' does not accept value 'bogus'\"}}\r\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'x' is unexpected\"}}\r\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'enable', expected: array\"}}\r\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"
        "{\"return\": {}, \"id\": 1}\r\n"
        "{\"id\": 4, \"error\": {\"class\": \"GenericError\", \"desc\": \"The command qmp_capabilities does not support OOB\"}}\r\n"
        "{\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete, command ignored\"}}\r\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'enable' is unexpected\"}}\r\n");
}

TEST_CASE("qmp server refuses capabilities it did not offer") {
    server_scenario s;
    s.options.capabilities = {};
    const server_log log = s.check(caps_oob + caps_plain, {"ready"});
    CHECK(log.written == std::string("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                                     "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": []}}\r\n") +
                             "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob not available\"}}\r\n"
                             "{\"return\": {}}\r\n");
}

TEST_CASE("qmp server without OOB takes exec-oob as an unexpected member") {
    // QEMU 7.2, negotiated without OOB.
    server_scenario s;
    const server_log log =
        s.check(caps_plain + R"({"exec-oob":"query-yank","id":4}{"execute":"query-status","id":6})",
                {"ready", "violation unexpected_message: QMP input member 'exec-oob' is unexpected",
                 "command 0 query-status {} id=6"});
    CHECK(log.written == std::string(greeting_oob) + "{\"return\": {}}\r\n" +
                             "{\"id\": 4, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
                             "'exec-oob' is unexpected\"}}\r\n"
                             "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 6}\r\n");
}

TEST_CASE("qmp server answers in-band commands in arrival order whatever the order of the answers") {
    deferring_app app;
    server_scenario s;
    s.respond = app.respond();
    s.idle = [&app](qmp::server& server, bool done) {
        if (!done) return;
        // Answer the last first: nothing may overtake the first answer on the wire.
        while (!app.held.empty()) {
            const qmp::command c = app.held.back();
            app.held.pop_back();
            if (c.name == "fail") {
                REQUIRE(server.reply_error(c.id, "GenericError", "it failed"));
            } else {
                REQUIRE(server.reply(c.id, {{"n", c.wire_id->get<int>()}}));
            }
        }
    };
    const server_log log = s.check(caps_oob + R"({"execute":"a","id":1}{"execute":"fail","id":2})" +
                                       R"({"execute":"bogus","arguments":5,"id":3}{"execute":"c","id":4})",
                                   {"ready oob", "command 0 a {} id=1", "command 1 fail {} id=2",
                                    "violation unexpected_message: QMP input member 'arguments' must be an object",
                                    "command 2 c {} id=4"});
    CHECK(log.written == std::string(greeting_oob) + "{\"return\": {}}\r\n" + "{\"return\": {\"n\": 1}, \"id\": 1}\r\n" +
                             "{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"it failed\"}}\r\n" +
                             "{\"id\": 3, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member "
                             "'arguments' must be an object\"}}\r\n" +
                             "{\"return\": {\"n\": 4}, \"id\": 4}\r\n");
}

TEST_CASE("qmp server lets OOB answers overtake in-band ones") {
    deferring_app app;
    server_scenario s;
    s.respond = app.respond();
    s.idle = [&app](qmp::server& server, bool done) {
        while (done && !app.held.empty()) {
            answer_at_once(server, app.held.front());
            app.held.pop_front();
        }
    };
    const server_log log = s.check(caps_oob + R"({"execute":"query-status","id":"slow"})" +
                                       R"({"exec-oob":"yank","arguments":{"instances":[]},"id":"o"}{"exec-oob":"query-yank"})",
                                   {"ready oob", "command 0 query-status {} id=\"slow\"",
                                    "command 1 yank {\"instances\":[]} id=\"o\" oob", "command 2 query-yank {} oob"});
    CHECK(log.written == std::string(greeting_oob) + "{\"return\": {}}\r\n" + "{\"return\": {}, \"id\": \"o\"}\r\n" +
                             "{\"return\": {}}\r\n" +
                             "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": \"slow\"}\r\n");
}

TEST_CASE("qmp server stops reading while its in-band queue is full, like QEMU") {
    SECTION("without OOB one command at a time") {
        qmp::server server;
        drain_output(server);
        REQUIRE(server.receive(caps_plain + R"({"execute":"a"}{"execute":"b"}{"execute":"c"})"));
        std::vector<std::string> events;
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events == std::vector<std::string>{"ready", "command 0 a {}"});
        CHECK(server.input_suspended());
        CHECK(server.pending_commands() == 1);
        REQUIRE(server.reply(request_id{0}));
        events.clear();
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events == std::vector<std::string>{"command 1 b {}"});
    }
    SECTION("with OOB 8 queued and 1 running") {
        qmp::server server;
        drain_output(server);
        std::string input = caps_oob;
        for (int i = 0; i < 12; ++i) input += R"({"execute":"x"})";
        input += R"({"exec-oob":"yank","arguments":{"instances":[]}})";
        REQUIRE(server.receive(input));
        std::vector<std::string> events;
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events.size() == 1 + 9);
        CHECK(server.input_suspended());
        // The OOB command behind the full queue is not read either (QEMU stops reading).
        REQUIRE(server.reply(request_id{0}));
        events.clear();
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events == std::vector<std::string>{"command 9 x {}"});
    }
    SECTION("the bytes wait, up to a limit") {
        qmp::server_options o;
        o.max_input_backlog = 64;
        qmp::server server(o);
        REQUIRE(server.receive(caps_plain + R"({"execute":"a"}{"execute":"b"})"));
        CHECK(server.input_suspended());
        CHECK(server.receive(std::string(40, ' ')));
        const auto refused = server.receive(std::string(40, ' '));
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code() == errc::backlog_full);
        CHECK(server.is_open());
    }
    SECTION("too much unwritten output") {
        qmp::server_options o;
        o.max_output_bytes = 200;
        qmp::server server(o);
        REQUIRE(server.receive(caps_oob + R"({"execute":"a"})"));
        std::vector<std::string> events;
        serve(server, [](qmp::server& s, const qmp::command& c) { REQUIRE(s.reply(c.id, std::string(300, 'x'))); }, events);
        CHECK(events == std::vector<std::string>{"ready oob", "command 0 a {}"});
        CHECK(server.input_suspended());
        REQUIRE(server.receive(R"({"execute":"b"})"));
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events.size() == 2);
        const auto refused = server.emit_event("STOP", nullptr, {1, 2});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code() == errc::backlog_full);
        drain_output(server);
        events.clear();
        serve(server, [](qmp::server&, const qmp::command&) {}, events);
        CHECK(events == std::vector<std::string>{"command 1 b {}"});
    }
}

TEST_CASE("qmp server sends events with the caller's timestamp") {
    qmp::server server;
    drain_output(server);
    const auto early = server.emit_event("STOP", nullptr, {1, 2});
    REQUIRE_FALSE(early);
    CHECK(early.error().code() == errc::invalid_state);
    REQUIRE(server.receive(caps_plain));
    drain_output(server);
    REQUIRE(server.emit_event("SHUTDOWN", {{"reason", "host-qmp-quit"}, {"guest", false}}, {1795554587, 495122}));
    REQUIRE(server.emit_event("STOP", nullptr, {-1, -1}));
    CHECK(drain_output(server) ==
          "{\"timestamp\": {\"seconds\": 1795554587, \"microseconds\": 495122}, \"event\": \"SHUTDOWN\", \"data\": "
          "{\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"
          "{\"timestamp\": {\"seconds\": -1, \"microseconds\": -1}, \"event\": \"STOP\"}\r\n");
    CHECK(server.emit_event("", nullptr, {}).error().code() == errc::invalid_argument);
    CHECK(server.emit_event("X", json::array(), {}).error().code() == errc::invalid_argument);
}

TEST_CASE("qmp server fails unanswered commands when the session ends") {
    auto start = [] {
        qmp::server server;
        REQUIRE(server.receive(caps_oob + R"({"execute":"a"}{"execute":"b"}{"exec-oob":"yank","arguments":{"instances":[]}})"));
        std::vector<std::string> events;
        serve(server, [](qmp::server& s, const qmp::command& c) {
            if (c.name == "b") REQUIRE(s.reply(c.id));  // answered, but waits behind a
        }, events);
        CHECK(events == std::vector<std::string>{"ready oob", "command 0 a {}", "command 1 b {}",
                                                 "command 2 yank {\"instances\":[]} oob"});
        return server;
    };
    std::vector<std::string> events;
    auto noop = [](qmp::server&, const qmp::command&) {};
    SECTION("EOF between messages") {
        qmp::server server = start();
        REQUIRE(server.receive_eof());
        serve(server, noop, events);
        CHECK(events == std::vector<std::string>{"request_failed 0 connection_lost", "request_failed 2 connection_lost",
                                                 "disconnect peer_closed"});
    }
    SECTION("EOF inside a message") {
        qmp::server server = start();
        REQUIRE(server.receive(R"({"execute":)"));
        REQUIRE(server.receive_eof());
        serve(server, noop, events);
        CHECK(events.back() == "disconnect connection_lost");
    }
    SECTION("close") {
        qmp::server server = start();
        REQUIRE(server.close());
        CHECK(server.pending_output().bytes.empty());
        serve(server, noop, events);
        CHECK(events == std::vector<std::string>{"request_failed 0 cancelled", "request_failed 2 cancelled",
                                                 "disconnect closed"});
    }
    SECTION("transport failure") {
        qmp::server server = start();
        REQUIRE(server.transport_failed(std::make_error_code(std::errc::connection_reset)));
        serve(server, noop, events);
        CHECK(events.back() == "disconnect connection_lost");
    }
    CHECK(events.size() >= 1);
}

TEST_CASE("qmp server refuses misuse and leaves its state alone") {
    qmp::server server;
    REQUIRE(server.receive(caps_plain + R"({"execute":"a","id":"x"})"));
    std::vector<std::string> events;
    serve(server, [](qmp::server&, const qmp::command&) {}, events);
    CHECK(server.reply(request_id{7}).error().code() == errc::unknown_request);
    CHECK(server.reply_error(request_id{0}, "", "x").error().code() == errc::invalid_argument);
    REQUIRE(server.reply(request_id{0}, json::array({1, 2})));
    CHECK(server.reply(request_id{0}).error().code() == errc::unknown_request);
    CHECK(server.state() == qmp::server_state::ready);
    CHECK_FALSE(server.next_deadline());
    CHECK(server.handle_timeout(clock::time_point{}));
    REQUIRE(server.close());
    CHECK(server.close().error().code() == errc::invalid_state);
    CHECK(server.receive("{}").error().code() == errc::invalid_state);
    CHECK(server.reply(request_id{1}).error().code() == errc::invalid_state);
    CHECK(server.emit_event("STOP", nullptr, {}).error().code() == errc::invalid_state);
    CHECK(server.receive_eof().error().code() == errc::invalid_state);
    CHECK(server.state() == qmp::server_state::closing);
    serve(server, [](qmp::server&, const qmp::command&) {}, events);
    CHECK(server.state() == qmp::server_state::closed);
    CHECK_FALSE(server.next_event());
}

TEST_CASE("qmp server and a qmp client joined in memory, with OOB") {
    joined_scenario s;
    s.start = [](qmp::client& c) {
        REQUIRE(c.execute("query-status"));
        REQUIRE(c.execute("stop"));
        REQUIRE(c.execute("no-such-command"));
        REQUIRE(c.execute("human-monitor-command", {{"command-line", 5}}));
    };
    s.server_options.schema = corpus_schema();
    if (!s.server_options.schema) QWIRE_SKIP("the corpus is missing");
    s.on_client_event = [](qmp::client& c, const qmp::client_event& e) {
        if (std::holds_alternative<qmp::ready>(e)) {
            qmp::exec_options o;
            o.oob = true;
            REQUIRE(c.execute("query-yank", nullptr, o));
        }
    };
    s.respond = [](qmp::server& server, const qmp::command& c) {
        if (c.name == "stop") REQUIRE(server.emit_event("STOP", nullptr, {1795554425, 731088}));
        if (c.name == "query-yank") {
            REQUIRE(server.reply(c.id, json::array({{{"type", "chardev"}, {"id", "mon"}}})));
        } else {
            answer_at_once(server, c);
        }
    };
    s.finish = [](qmp::client& c, qmp::server&) { REQUIRE(c.close()); };
    const joined_log log = s.check(1024);
    CHECK(log.client_events == std::vector<std::string>{
        "greeting oob", "ready oob", "reply 0 {\"running\":true,\"singlestep\":false,\"status\":\"running\"}",
        "event STOP null 1795554425.731088", "reply 1 {}",
        "error_reply 2 CommandNotFound: The command no-such-command has not been found",
        "error_reply 3 GenericError: Invalid parameter type for 'command-line', expected: string",
        "reply 4 [{\"id\":\"mon\",\"type\":\"chardev\"}]", "disconnect closed"});
    CHECK(log.server_events == std::vector<std::string>{"ready oob", "command 0 query-status {} id=0",
                                                        "command 1 stop {} id=1", "command 2 query-yank {} id=4 oob"});
}

TEST_CASE("qmp server and a qmp client joined in memory, without OOB, pipelined") {
    joined_scenario s;
    s.client_options.enable_oob = false;
    s.start = [](qmp::client& c) {
        for (int i = 0; i < 5; ++i) REQUIRE(c.execute("query-status"));
    };
    s.respond = [](qmp::server& server, const qmp::command& c) {
        REQUIRE(server.reply(c.id, {{"n", c.wire_id->get<int>()}}));
    };
    s.finish = [](qmp::client&, qmp::server& server) { REQUIRE(server.receive_eof()); };
    const joined_log log = s.check();
    CHECK(log.client_events == std::vector<std::string>{"greeting oob", "ready", "reply 0 {\"n\":0}", "reply 1 {\"n\":1}",
                                                        "reply 2 {\"n\":2}", "reply 3 {\"n\":3}", "reply 4 {\"n\":4}"});
    CHECK(log.server_events.back() == "disconnect peer_closed");
    CHECK(log.c2s == caps_plain + R"({"execute":"query-status","id":0}{"execute":"query-status","id":1})" +
                         R"({"execute":"query-status","id":2}{"execute":"query-status","id":3})" +
                         R"({"execute":"query-status","id":4})");
}

}  // namespace qwire::test
