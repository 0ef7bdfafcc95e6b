// The qwire program against real QEMU and a real guest agent, through pipes.
#include <thread>

#include "qemu_testing.hpp"
#include "tool_harness.hpp"

#include <nlohmann/json.hpp>

namespace qwire::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    for (std::size_t begin = 0, end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1)
        lines.push_back(text.substr(begin, end - begin));
    return lines;
}

/// Waits until QEMU says a client is connected to the monitor `label`, then a little more for
/// the client to negotiate (QEMU sends events only to monitors past qmp_capabilities).
void wait_for_client(const std::string& act_socket, const std::string& label) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        const auto r = run_tool({"exec", act_socket, "query-chardev"});
        REQUIRE(r.status == 0);
        for (const auto& c : nlohmann::json::parse(r.out))
            if (c["label"] == label && !c["filename"].get<std::string>().starts_with("disconnected:")) {
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
                return;
            }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("no client connected to " << label);
}

}  // namespace

TEST_CASE("exec against QEMU: replies, error replies, OOB") {
    qemu_options o;
    o.guest = true;
    QWIRE_START_QEMU(qemu, o);
    const auto status = run_tool({"exec", qemu->socket_path(), "query-status"});
    CHECK(status.status == 0);
    CHECK(status.out == "{\"running\":false,\"singlestep\":false,\"status\":\"prelaunch\"}\n");
    const auto missing = run_tool({"exec", qemu->socket_path(), "device_del", "id=nope"});
    CHECK(missing.status == 1);
    CHECK(missing.err == "DeviceNotFound: Device 'nope' not found\n");
    const auto schema = run_tool({"exec", qemu->socket_path(), "human-monitor-command", "cpu-index=0"});
    CHECK(schema.status == 1);
    CHECK(schema.err == "GenericError: Parameter 'command-line' is missing\n");
    const auto hmp = run_tool({"exec", qemu->socket_path(), "human-monitor-command", "command-line=info version"});
    CHECK(hmp.status == 0);
    CHECK(hmp.out.starts_with("\"7.2"));
    const auto oob = run_tool({"exec", "--oob", qemu->socket_path(), "query-yank"});
    CHECK(oob.status == 0);
    const auto not_oob = run_tool({"exec", "--oob", qemu->socket_path(), "query-status"});
    CHECK(not_oob.status == 1);
    CHECK(not_oob.err == "GenericError: The command query-status does not support OOB\n");
}

TEST_CASE("events against QEMU: every event until QEMU quits, then status 0") {
    QWIRE_START_TWO_MONITOR_QEMU(q);
    background_tool all({"events", q->watch_socket});
    wait_for_client(q->act_socket, "mon");
    for (const char* command : {"cont", "stop", "quit"}) REQUIRE(run_tool({"exec", q->act_socket, command}).status == 0);
    const auto r = all.finish();
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(nlohmann::json::parse(lines[0])["event"] == "RESUME");
    CHECK(nlohmann::json::parse(lines[1])["event"] == "STOP");
    CHECK(nlohmann::json::parse(lines[2])["data"] == nlohmann::json{{"guest", false}, {"reason", "host-qmp-quit"}});
}

TEST_CASE("events against QEMU: --filter and --count") {
    QWIRE_START_TWO_MONITOR_QEMU(q);
    background_tool stops({"events", q->watch_socket, "--filter", "STOP", "--count", "2", "--timeout", "20"});
    wait_for_client(q->act_socket, "mon");
    for (const char* command : {"cont", "stop", "cont", "stop"}) REQUIRE(run_tool({"exec", q->act_socket, command}).status == 0);
    const auto r = stops.finish();
    CHECK(r.status == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    for (const auto& l : lines) CHECK(nlohmann::json::parse(l)["event"] == "STOP");
}

TEST_CASE("exec --qga against a real guest agent: read-only commands, blocked ones refused") {
    QWIRE_START_PEER(agent, "qemu-ga", qemu_process::start_qemu_ga(agent_why_not));
    const auto ping = run_tool({"exec", "--qga", agent->socket_path(), "guest-ping"});
    CHECK(ping.status == 0);
    CHECK(ping.out == "{}\n");
    const auto info = run_tool({"exec", "--qga", agent->socket_path(), "guest-info"});
    CHECK(info.status == 0);
    CHECK(nlohmann::json::parse(info.out).contains("version"));
    const auto blocked = run_tool({"exec", "--qga", agent->socket_path(), "guest-file-open", "path=/etc/hostname"});
    CHECK(blocked.status == 1);
    CHECK(blocked.err.find("disabled") != std::string::npos);
}

}  // namespace qwire::test

namespace qwire::test {

TEST_CASE("shell through a pipe against QEMU: --oob sends every command out of band") {
    qemu_options o;
    QWIRE_START_QEMU(qemu, o);
    const auto r = run_tool({"shell", "--oob", qemu->socket_path(), "--log", qemu->dir().file("traffic")},
                            "query-yank\nquery-status\n");
    CHECK(r.status == 0);
    CHECK(r.out.find("\"type\": \"chardev\"") != std::string::npos);
    CHECK(r.out.find("error: GenericError: The command query-status does not support OOB\n") != std::string::npos);
    const auto log = read_file(qemu->dir().file("traffic"));
    CHECK(log.find("-> {\"exec-oob\":\"query-yank\",\"id\":") != std::string::npos);
}

TEST_CASE("shell --qga through a pipe against a real guest agent") {
    QWIRE_START_PEER(agent, "qemu-ga", qemu_process::start_qemu_ga(agent_why_not));
    const auto r = run_tool({"shell", "--qga", agent->socket_path()}, "guest-ping\nguest-get-host-name\nguest-file-open path=/etc/hostname\n");
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("Connected to the guest agent."));
    CHECK(r.out.find("\n{}\n") != std::string::npos);
    CHECK(r.out.find("\"host-name\": ") != std::string::npos);
    CHECK(r.out.find("error: ") != std::string::npos);
    CHECK(r.out.find("disabled") != std::string::npos);
}

}  // namespace qwire::test
