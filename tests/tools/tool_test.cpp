// The qwire program through pipes, against its own mock server: exit statuses, stdout and
// stderr for exec, events and shell; the mock's scripts, schema checks and signals.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "testing.hpp"
#include "tool_harness.hpp"

namespace qwire::test {
namespace {

using std::chrono::milliseconds;

// The hostile reply: an array nested 2,000 deep, past the client's limit of 1,024.
const std::string script = R"({
  "events": [{"event": "RESUME"}, {"event": "BLOCK_JOB_READY", "data": {"device": "j0"}}],
  "replies": [
    {"execute": "query-status", "return": {"status": "running", "singlestep": false, "running": true}},
    {"execute": "stop", "events": [{"event": "STOP"}], "return": {}},
    {"execute": "device_del", "arguments": {"id": "nic0"},
     "error": {"class": "DeviceNotFound", "desc": "Device 'nic0' not found"}},
    {"execute": "query-hostile", "raw": ")" + std::string(2000, '[') + R"("},
    {"execute": "bye", "return": {}, "close": true}
  ]})";

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

/// `qwire mock` on a socket in a private folder, with the script above.
struct mock_fixture {
    temp_dir dir;
    std::string socket = dir.file("mock.sock");
    std::optional<background_tool> mock;

    explicit mock_fixture(std::vector<std::string> extra = {}) {
        write_file(dir.file("script.json"), script);
        std::vector<std::string> args = {"mock", socket, "--script", dir.file("script.json")};
        args.insert(args.end(), extra.begin(), extra.end());
        mock.emplace(args);
        REQUIRE(mock->wait_for_stderr("listening on"));
    }
};

/// A Unix socket bound to `path`, not listening.
int bound_socket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

}  // namespace

TEST_CASE("qwire --help lists the subcommands; every subcommand has --help") {
    const auto help = run_tool({"--help"});
    CHECK(help.status == 0);
    for (const char* sub : {"exec", "events", "shell", "mock", "proxy"}) {
        CHECK(help.out.find(std::string("\n  ") + sub + " ") != std::string::npos);
        const auto sub_help = run_tool({sub, "--help"});
        CHECK(sub_help.status == 0);
        CHECK(sub_help.out.find(std::string("Usage: qwire ") + sub) != std::string::npos);
    }
    const auto none = run_tool({});
    CHECK(none.status == 64);
    CHECK(none.err == "qwire: A subcommand is required (see qwire --help)\n");
    const auto misplaced = run_tool({"proxy", "--upstream", "/x", "--deny", "quit", "--listen", "/y"});
    CHECK(misplaced.status == 64);
    CHECK(misplaced.err == "qwire: --deny and --events follow the --listen they apply to (see qwire proxy --help)\n");
    const auto unknown = run_tool({"frobnicate"});
    CHECK(unknown.status == 64);
    CHECK(unknown.err == "qwire: unknown subcommand 'frobnicate' (see qwire --help)\n");
}

TEST_CASE("exec: a reply on stdout and status 0; an error reply's class and desc on stderr and status 1") {
    mock_fixture m;
    const auto ok = run_tool({"exec", m.socket, "query-status"});
    CHECK(ok.status == 0);
    CHECK(ok.out == "{\"running\":true,\"singlestep\":false,\"status\":\"running\"}\n");
    CHECK(ok.err.empty());

    const auto pretty = run_tool({"exec", "--pretty", m.socket, "query-status"});
    CHECK(pretty.out == "{\n  \"running\": true,\n  \"singlestep\": false,\n  \"status\": \"running\"\n}\n");

    const auto failed = run_tool({"exec", m.socket, "device_del", "id=nic0"});
    CHECK(failed.status == 1);
    CHECK(failed.out.empty());
    CHECK(failed.err == "DeviceNotFound: Device 'nic0' not found\n");

    const auto unscripted = run_tool({"exec", m.socket, "query-balloon"});
    CHECK(unscripted.status == 1);
    CHECK(unscripted.err == "GenericError: qwire mock: no reply is scripted for 'query-balloon'\n");

    const auto json_args = run_tool({"exec", m.socket, "device_del", R"({"id": "nic0"})"});
    CHECK(json_args.status == 1);
    CHECK(json_args.err == "DeviceNotFound: Device 'nic0' not found\n");
}

TEST_CASE("exec: connection problems are status 2, in one line") {
    temp_dir dir;
    const auto missing = run_tool({"exec", dir.file("nothing.sock"), "query-status"});
    CHECK(missing.status == 2);
    CHECK(missing.err == "qwire: " + dir.file("nothing.sock") + ": No such file or directory\n");

    // A socket file nobody listens on any more.
    const std::string stale = dir.file("stale.sock");
    ::close(bound_socket(stale));
    const auto refused = run_tool({"exec", stale, "query-status"});
    CHECK(refused.status == 2);
    CHECK(refused.err == "qwire: " + stale + ": Connection refused\n");

    // A server that accepts and never greets: the timeout ends it.
    const std::string silent = dir.file("silent.sock");
    const int listener = bound_socket(silent);
    REQUIRE(::listen(listener, 4) == 0);
    const auto timed_out = run_tool({"exec", "--timeout", "0.3", silent, "query-status"});
    ::close(listener);
    CHECK(timed_out.status == 2);
    CHECK(timed_out.err.find("qwire: " + silent + ": ") == 0);
    CHECK(timed_out.err.find("timed out") != std::string::npos);

    const auto bad_endpoint = run_tool({"exec", "host:notaport", "query-status"});
    CHECK(bad_endpoint.status == 2);
    CHECK(std::count(bad_endpoint.err.begin(), bad_endpoint.err.end(), '\n') == 1);
}

TEST_CASE("exec: a malformed argument is status 64 and nothing is sent") {
    mock_fixture m({"--once"});
    const auto bad = run_tool({"exec", m.socket, "device_del", "nic0"});
    CHECK(bad.status == 64);
    CHECK(bad.err == "qwire: expected key=value, got 'nic0'\n");
    const auto no_key = run_tool({"exec", m.socket, "device_del", "=nic0"});
    CHECK(no_key.status == 64);
    CHECK(no_key.err == "qwire: empty key in '=nic0'\n");
    const auto bad_json = run_tool({"exec", m.socket, "device_del", "{\"id\": "});
    CHECK(bad_json.status == 64);
    CHECK(bad_json.err == "qwire: not JSON: {\"id\": \n");
    const auto no_timeout = run_tool({"exec", "--timeout", "soon", m.socket, "stop"});
    CHECK(no_timeout.status == 64);
    // The mock (--once) is still waiting for its first client: nothing connected.
    CHECK(::kill(m.mock->pid(), 0) == 0);
}

TEST_CASE("exec: a hostile reply is a typed error, not a crash") {
    mock_fixture m;
    const auto hostile = run_tool({"exec", m.socket, "query-hostile"});
    CHECK(hostile.status == 2);
    CHECK(hostile.out.empty());
    CHECK(hostile.err == "qwire: " + m.socket + ": connection lost: JSON nesting exceeds the depth limit: more than 1024 nested arrays "
                         "or objects at byte 1024 of a frame\n");
}

TEST_CASE("events: JSON lines, filtered and counted") {
    mock_fixture m;
    const auto two = run_tool({"events", m.socket, "--count", "2", "--timeout", "10"});
    CHECK(two.status == 0);
    REQUIRE(std::count(two.out.begin(), two.out.end(), '\n') == 2);
    CHECK(two.out.find("{\"event\":\"RESUME\",\"timestamp\":{\"microseconds\":") == 0);
    CHECK(two.out.find("\n{\"data\":{\"device\":\"j0\"},\"event\":\"BLOCK_JOB_READY\",\"timestamp\":") != std::string::npos);

    const auto filtered = run_tool({"events", m.socket, "--filter", "BLOCK_JOB_READY", "--count", "1"});
    CHECK(filtered.status == 0);
    CHECK(filtered.out.find("{\"data\":{\"device\":\"j0\"},\"event\":\"BLOCK_JOB_READY\"") == 0);
    CHECK(std::count(filtered.out.begin(), filtered.out.end(), '\n') == 1);

    // Fewer events than --count before --timeout: status 1, what came is printed.
    const auto short_of = run_tool({"events", m.socket, "--filter", "RESUME", "--count", "2", "--timeout", "0.5"});
    CHECK(short_of.status == 1);
    CHECK(std::count(short_of.out.begin(), short_of.out.end(), '\n') == 1);

    // No --count: the timeout ends it normally.
    const auto timed = run_tool({"events", m.socket, "--timeout", "0.5"});
    CHECK(timed.status == 0);
    CHECK(std::count(timed.out.begin(), timed.out.end(), '\n') == 2);
}

TEST_CASE("shell through a pipe: commands run in order, errors say why, the log has the traffic") {
    mock_fixture m;
    temp_dir home;
    const auto r = run_tool({"shell", m.socket, "--history", home.file("history"), "--log", home.file("traffic.log")},
                            "query-status\nstop\nnot-a-pair x\ndevice_del id=nic0\n{\"execute\": \"query-status\"}\n"
                            "\n   \nquery-status\nexit\nstop\n");
    CHECK(r.status == 0);
    // Replies and events in the order they came; the line that did not parse is refused at once.
    const auto at = [&](const std::string& text) { return r.out.find(text); };
    CHECK(at("Connected to QEMU 7.2.22 (capabilities: oob)\n") == 0);
    CHECK(at("Ready, out-of-band commands enabled.") != std::string::npos);
    CHECK(at("error: expected key=value, got 'x'\n") != std::string::npos);
    CHECK(at("event {\"event\":\"RESUME\",\"timestamp\":{") != std::string::npos);
    CHECK(at("event {\"event\":\"STOP\"") < at("{}\n"));
    CHECK(at("{}\n") < at("error: DeviceNotFound"));
    CHECK(r.out.find("{\n  \"running\": true,\n  \"singlestep\": false,\n  \"status\": \"running\"\n}\n") != std::string::npos);
    CHECK(r.out.find("event {\"event\":\"STOP\"") != std::string::npos);
    CHECK(r.out.find("error: DeviceNotFound: Device 'nic0' not found\n") != std::string::npos);
    const auto log = read_file(home.file("traffic.log"));
    CHECK(log.find("<- {\"QMP\": {") == 0);
    CHECK(log.find("-> {\"execute\":\"stop\",\"id\":") != std::string::npos);
    CHECK(log.find("-> {\"execute\":\"stop\",\"id\":") == log.rfind("-> {\"execute\":\"stop\",\"id\":"));  // none after exit
    CHECK(log.find("-> {\"execute\":\"device_del\",\"arguments\":{\"id\":\"nic0\"},\"id\":") != std::string::npos);
}

TEST_CASE("mock: a bad script is refused in one line; SIGTERM removes the socket") {
    temp_dir dir;
    write_file(dir.file("bad.json"), R"({"replies": [{"execute": "x"}]})");
    const auto bad = run_tool({"mock", dir.file("m.sock"), "--script", dir.file("bad.json")});
    CHECK(bad.status == 64);
    CHECK(bad.err == "qwire: " + dir.file("bad.json") + ": reply 1 needs exactly one of \"return\", \"error\" or \"raw\"\n");
    write_file(dir.file("notjson.json"), "{");
    CHECK(run_tool({"mock", dir.file("m.sock"), "--script", dir.file("notjson.json")}).err ==
          "qwire: " + dir.file("notjson.json") + ": not JSON\n");

    mock_fixture m;
    REQUIRE(::access(m.socket.c_str(), F_OK) == 0);
    ::kill(m.mock->pid(), SIGTERM);
    const auto ended = m.mock->finish(milliseconds(5000));
    CHECK(ended.status == 0);
    CHECK(::access(m.socket.c_str(), F_OK) != 0);
}

TEST_CASE("mock --schema answers like QEMU: unknown commands and bad arguments") {
    const auto schema = corpus_schema_reply();
    if (!schema) QWIRE_SKIP("no corpus");
    mock_fixture m;
    write_file(m.dir.file("schema.json"), *schema);
    const std::string sock = m.dir.file("schema.sock");
    background_tool mock({"mock", sock, "--schema", m.dir.file("schema.json")});
    REQUIRE(mock.wait_for_stderr("listening on"));
    const auto missing = run_tool({"exec", sock, "human-monitor-command"});
    CHECK(missing.status == 1);
    CHECK(missing.err == "GenericError: Parameter 'command-line' is missing\n");
    const auto unknown = run_tool({"exec", sock, "no-such-command"});
    CHECK(unknown.err == "CommandNotFound: The command no-such-command has not been found\n");
    const auto commands = run_tool({"exec", sock, "query-commands"});
    CHECK(commands.status == 0);
    CHECK(commands.out.find("{\"name\":\"query-status\"}") != std::string::npos);
    const auto version = run_tool({"exec", sock, "query-version"});
    CHECK(version.out.find("\"qemu\":{\"major\":7,\"micro\":22,\"minor\":2}") != std::string::npos);
}

}  // namespace qwire::test
