// qwire::qmp::client with client_options::schema: a command the schema refuses is refused
// locally, with QEMU's own words, and nothing is sent.
#include "server_harness.hpp"

namespace qwire::test {

TEST_CASE("qmp schema in a client refuses malformed commands before they are sent") {
    auto schema = corpus_schema();
    if (!schema) QWIRE_SKIP("the corpus is missing");
    qmp::client_options o;
    o.schema = schema;
    qmp::client client = ready_client(o);

    auto refused = [&](std::string_view command, nlohmann::json args, qmp::exec_options eo = {}) {
        const auto r = client.execute(command, std::move(args), std::move(eo));
        REQUIRE_FALSE(r);
        CHECK(r.error().code() == errc::invalid_argument);
        return r.error().detail();
    };
    CHECK(refused("human-monitor-command", nullptr) == "Parameter 'command-line' is missing");
    CHECK(refused("human-monitor-command", {{"command-line", 42}}) ==
          "Invalid parameter type for 'command-line', expected: string");
    CHECK(refused("query-version", {{"foo", 1}}) == "Parameter 'foo' is unexpected");
    CHECK(refused("no-such-command", nullptr) == "The command no-such-command has not been found");
    qmp::exec_options oob;
    oob.oob = true;
    CHECK(refused("query-status", nullptr, oob) == "The command query-status does not support OOB");
    CHECK(client.pending_requests() == 0);
    CHECK(drain_output(client).empty());

    REQUIRE(client.execute("human-monitor-command", {{"command-line", "info version"}}));
    REQUIRE(client.execute("query-yank", nullptr, oob));
    CHECK(drain_output(client) ==
          R"({"execute":"human-monitor-command","arguments":{"command-line":"info version"},"id":0})"
          R"({"exec-oob":"query-yank","id":1})");
}

TEST_CASE("qmp schema in a client and in a server agree") {
    auto schema = corpus_schema();
    if (!schema) QWIRE_SKIP("the corpus is missing");
    joined_scenario s;
    s.client_options.schema = schema;
    s.server_options.schema = schema;
    s.start = [](qmp::client& c) {
        REQUIRE(c.execute("human-monitor-command", {{"command-line", "info version"}}));
        CHECK_FALSE(c.execute("human-monitor-command", {{"cpu-index", 0}}));
        REQUIRE(c.execute("migrate-set-capabilities", {{"capabilities", {{{"capability", "xbzrle"}, {"state", true}}}}}));
    };
    s.respond = [](qmp::server& server, const qmp::command& c) {
        REQUIRE(server.reply(c.id, c.name == "human-monitor-command" ? nlohmann::json("QEMU emulator version 7.2.22\r\n")
                                                                    : nlohmann::json::object()));
    };
    const joined_log log = s.check(1024);
    CHECK(log.client_events == std::vector<std::string>{"greeting oob", "ready oob",
                                                        "reply 0 \"QEMU emulator version 7.2.22\\r\\n\"", "reply 1 {}"});
    CHECK(log.server_events.size() == 3);
}

}  // namespace qwire::test
