// `qwire shell` on a pseudo-terminal, typed at as a person does: Tab completion, history kept
// between runs, and events printed above the line being typed without losing it.
#include "qemu_testing.hpp"
#include "tool_harness.hpp"

#include <fstream>

namespace qwire::test {
namespace {

/// `qwire mock` with the recorded QEMU 7.2 schema, for completion.
struct schema_mock {
    temp_dir dir;
    std::string socket = dir.file("mock.sock");
    std::optional<background_tool> mock;
    bool start() {
        auto schema = corpus_schema_reply();
        if (!schema) return false;
        std::ofstream(dir.file("schema.json"), std::ios::binary) << *schema;
        mock.emplace(std::vector<std::string>{"mock", socket, "--schema", dir.file("schema.json")});
        REQUIRE(mock->wait_for_stderr("listening on"));
        return true;
    }
};

}  // namespace

TEST_CASE("shell on a terminal: Tab completes command and argument names") {
    schema_mock m;
    if (!m.start()) QWIRE_SKIP("no corpus");
    terminal_session t({"shell", m.socket, "--history", m.dir.file("history")});
    REQUIRE(t.expect("Ready"));
    REQUIRE(t.expect("qmp> "));
    // libedit draws only what changed; the reply shows which command ran.
    t.type("query-vers\t");
    CHECK(t.expect("ion "));
    t.type("\r");
    CHECK(t.expect("\"qemu\""));
    CHECK(t.expect("qmp> "));
    // Arguments from the schema: Tab stops after '=' for the value.
    t.type("human-monitor-command com\t");
    CHECK(t.expect("mand-line="));
    t.type("\"info version\"\r");
    // The schema accepted it (so the name was completed); the mock has no scripted answer.
    CHECK(t.expect("no reply is scripted for 'human-monitor-command'"));
    // A value from an enum.
    t.type("set-action reboot=sh\t");
    CHECK(t.expect("utdown "));
    t.type("\r");
    CHECK(t.expect("no reply is scripted for 'set-action'"));  // not "does not accept value 'sh'"
    // Two choices: a second Tab lists them.
    t.type("blockdev-add cache.direct=\t\t");
    CHECK(t.expect("false  true"));
    t.type("\x15");  // Ctrl-U: clear the line
    t.type("\x04");  // Ctrl-D on an empty line
    CHECK(t.wait_exit() == 0);
}

TEST_CASE("shell on a terminal: history is kept between runs") {
    schema_mock m;
    if (!m.start()) QWIRE_SKIP("no corpus");
    const std::string history = m.dir.file("state/qwire/history");  // its folder is made
    {
        terminal_session t({"shell", m.socket, "--history", history});
        REQUIRE(t.expect("qmp> "));
        t.type("query-version\r");
        REQUIRE(t.expect("\"qemu\""));
        t.type("exit\r");
        CHECK(t.wait_exit() == 0);
    }
    CHECK(read_file(history).find("query-version") != std::string::npos);
    terminal_session t({"shell", m.socket, "--history", history});
    REQUIRE(t.expect("qmp> "));
    t.type("\033[A\033[A");  // Up twice: "exit", then "query-version"
    CHECK(t.expect("query-version"));
    t.type("\r");
    CHECK(t.expect("\"qemu\""));
    t.type("\x04");
    CHECK(t.wait_exit() == 0);
}

TEST_CASE("shell on a terminal against QEMU: an event is printed above the line being typed") {
    QWIRE_START_TWO_MONITOR_QEMU(q);
    terminal_session t({"shell", q->watch_socket, "--history", q->qemu->dir().file("history")});
    REQUIRE(t.expect("Connected to QEMU"));
    REQUIRE(t.expect("qmp> "));
    t.type("query-sta");
    REQUIRE(t.expect("query-sta"));
    // Another client resumes the guest: QEMU tells every monitor.
    const auto cont = run_tool({"exec", q->act_socket, "cont"});
    REQUIRE(cont.status == 0);
    CHECK(t.expect("\"event\":\"RESUME\""));
    CHECK(t.expect("qmp> query-sta"));  // the prompt and the partial line, drawn again
    t.type("tus\r");
    CHECK(t.expect("\"running\""));
    t.type("quit\r");
    CHECK(t.expect("SHUTDOWN"));
    CHECK(t.expect("Connection closed by the peer."));
    CHECK(t.wait_exit() == 0);
}

}  // namespace qwire::test
