// `qwire proxy` against real QEMU: several clients on one monitor, each reply at the client
// that asked (under its own id), every event at every client, denied commands, file
// descriptors, a client killed mid-command, one that stops reading, QEMU killed underneath,
// and a recorded session replayed through qwire::qmp::client with no QEMU.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "qemu_testing.hpp"
#include "qwire/qmp/client.hpp"
#include "qwire/sync_client.hpp"
#include "tool_harness.hpp"

namespace qwire::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// A bare socket client, to send exactly the bytes a test wants.
class raw_client {
public:
    explicit raw_client(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        bool connected = false;
        for (int attempt = 0; attempt < 50 && !connected; ++attempt) {  // a full backlog says EAGAIN
            connected = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
            if (!connected && errno != EAGAIN && errno != EINTR) break;
            if (!connected) std::this_thread::sleep_for(20ms);
        }
        INFO("connecting to " << path << ": " << std::strerror(errno));
        REQUIRE(connected);
        timeval tv{0, 100000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~raw_client() { close(); }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void send(const std::string& bytes) { REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size())); }
    /// Reads until what came contains `text` (false after 10 s or EOF); returns all read so far.
    bool read_until(const std::string& text) {
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (received.find(text) == std::string::npos) {
            if (std::chrono::steady_clock::now() > until) return false;
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) return false;
            if (n > 0) received.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }
    std::string received;

private:
    int fd_;
};

/// QEMU (-machine pc -S) with `qwire proxy` in front of it.
struct proxied_qemu {
    std::optional<qemu_process> qemu;
    std::optional<background_tool> proxy;
    std::string socket;     ///< the proxy's first listening socket
    std::string observer;   ///< its second: quit and stop denied, only RESUME and STOP events

    /// The proxy is still serving (a crash would have ended it).
    [[nodiscard]] bool alive() const { return ::waitpid(proxy->pid(), nullptr, WNOHANG) == 0; }

    bool start(std::vector<std::string> extra = {}) {
        std::string why_not;
        qemu_options o;
        o.guest = true;
        auto q = qemu_process::start(o, why_not);
        if (!q) {
            if (why_not.empty()) return false;
            FAIL(why_not);
        }
        qemu.emplace(std::move(*q));
        socket = qemu->dir().file("proxy.sock");
        observer = qemu->dir().file("observer.sock");
        std::vector<std::string> args = {"proxy", "--upstream", qemu->socket_path(), "--listen", socket,
                                         "--listen", observer, "--deny", "quit,stop", "--events", "RESUME,STOP"};
        args.insert(args.end(), extra.begin(), extra.end());
        proxy.emplace(args);
        REQUIRE(proxy->wait_for_stderr("listening on " + observer));
        return true;
    }
};

#define QWIRE_START_PROXY(var, ...)                                          \
    proxied_qemu var;                                                        \
    if (!var.start(__VA_ARGS__)) QWIRE_SKIP("qemu-system-x86_64 is not installed")

}  // namespace

TEST_CASE("proxy: three clients at once, each reply at its client, every event at all") {
    QWIRE_START_PROXY(p);
    background_tool events({"events", p.socket, "--count", "2", "--timeout", "60"});
    background_tool observed({"events", p.observer, "--count", "2", "--timeout", "60"});
    REQUIRE(p.proxy->wait_for_stderr("ready on " + p.socket));  // both are listening
    REQUIRE(p.proxy->wait_for_stderr("ready on " + p.observer));
    auto vm = sync_client::connect(p.socket).value();
    CHECK(vm.greeting().version["qemu"]["major"] == 7);
    // The shell asks for the version 50 times while the blocking client runs 1000 commands.
    std::string lines;
    for (int i = 0; i < 50; ++i) lines += "query-version\n";
    background_tool shell({"shell", p.socket, "--color", "never"}, lines);
    for (int i = 0; i < 1000; ++i) {
        auto status = vm.execute("query-status");
        REQUIRE(status);
        REQUIRE((*status)["status"] == "prelaunch");
    }
    // A client with its own, odd ids gets them back verbatim.
    raw_client raw(p.socket);
    raw.send(R"({"execute": "qmp_capabilities"})"
             R"({"execute": "query-kvm", "id": {"mine": [1, "x"]}})");
    REQUIRE(raw.read_until(R"("id": {"mine": [1, "x"]})"));
    CHECK(raw.received.find("\"return\": {\"enabled\": false, \"present\"") != std::string::npos);
    // Events from one client's commands reach every client.
    REQUIRE(vm.execute("cont"));
    REQUIRE(vm.execute("stop"));
    CHECK(vm.wait_event("RESUME", 5s));
    CHECK(vm.wait_event("STOP", 5s));
    const auto shell_out = shell.finish();
    CHECK(shell_out.status == 0);
    std::size_t versions = 0;
    for (auto at = shell_out.out.find("\"qemu\": {"); at != std::string::npos; at = shell_out.out.find("\"qemu\": {", at + 1))
        ++versions;
    CHECK(versions == 50);
    CHECK(shell_out.out.find("prelaunch") == std::string::npos);  // nobody else's replies
    for (auto* e : {&events, &observed}) {
        const auto r = e->finish();
        CHECK(r.status == 0);
        CHECK(r.out.find("\"event\":\"RESUME\"") < r.out.find("\"event\":\"STOP\""));
    }
    CHECK(p.alive());
}

TEST_CASE("proxy: commands denied per socket, events filtered per socket") {
    QWIRE_START_PROXY(p);
    const auto quit = run_tool({"exec", p.observer, "quit"});
    CHECK(quit.status == 1);
    CHECK(quit.err == "GenericError: qwire proxy: quit is not allowed on this socket\n");
    CHECK(run_tool({"exec", p.observer, "query-status"}).status == 0);
    auto vm = sync_client::connect(p.socket).value();
    auto watcher = sync_client::connect(p.observer).value();
    REQUIRE(vm.execute("cont"));
    REQUIRE(vm.execute("system_reset"));  // RESET: not for the observer
    REQUIRE(vm.execute("stop"));
    CHECK(vm.wait_event("RESET", 5s));
    CHECK(watcher.wait_event("STOP", 5s));
    std::vector<std::string> seen;
    for (const auto& e : watcher.events()) seen.push_back(e.name);
    CHECK(seen == std::vector<std::string>{"RESUME"});  // STOP was taken above; no RESET
    CHECK(p.alive());
}

TEST_CASE("proxy: a passed file descriptor rides with its command") {
    QWIRE_START_PROXY(p);
    auto vm = sync_client::connect(p.socket).value();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto added = vm.execute_with_fds("add-fd", {{"fdset-id", 3}, {"opaque", "through the proxy"}}, {fds[0]});
    ::close(fds[0]);
    ::close(fds[1]);
    REQUIRE(added);
    CHECK((*added)["fdset-id"] == 3);
    auto other = sync_client::connect(p.socket).value();
    const auto sets = other.execute("query-fdsets").value();
    CHECK(sets.dump().find("through the proxy") != std::string::npos);
    CHECK(p.alive());
}

TEST_CASE("proxy: a client killed mid-command, and one that stops reading, harm nobody") {
    QWIRE_START_PROXY(p, {"--max-backlog", "1000000"});
    {
        raw_client gone(p.socket);
        gone.send(R"({"execute": "qmp_capabilities"}{"execute": "query-qmp-schema", "id": 1})"
                  R"({"execute": "query-qmp-schema", "id": 2})");
    }  // closed before the replies
    raw_client stuck(p.socket);
    std::string flood = R"({"execute": "qmp_capabilities"})";
    for (int i = 0; i < 40; ++i) flood += R"({"execute": "query-qmp-schema", "id": )" + std::to_string(i) + "}";
    stuck.send(flood);  // 40 replies of 207 KB each, never read
    auto connected = sync_client::connect(p.socket);
    if (!connected) FAIL(connected.error().message());
    auto& vm = *connected;
    for (int i = 0; i < 100; ++i) REQUIRE(vm.execute("query-status"));
    REQUIRE(p.proxy->wait_for_stderr("stopped reading"));
    CHECK(p.proxy->wait_for_stderr(": cut off"));
    CHECK(vm.execute("query-status"));
    CHECK(p.alive());
}

TEST_CASE("proxy: QEMU killed underneath, every client gets its disconnect") {
    QWIRE_START_PROXY(p);
    auto vm = sync_client::connect(p.socket).value();
    auto watcher = sync_client::connect(p.observer).value();
    background_tool events({"events", p.socket});
    // The third client; once it prints RESUME, it is waiting for events.
    REQUIRE(p.proxy->wait_for_stderr("client 3 ready"));
    REQUIRE(vm.execute("cont"));
    REQUIRE(events.wait_for_stdout("RESUME"));
    p.qemu->process().kill_and_reap();
    CHECK_FALSE(vm.execute("query-status", nullptr, 5s));
    CHECK_FALSE(vm.is_connected());
    CHECK(watcher.wait_event("RESUME", 5s));
    CHECK_FALSE(watcher.wait_event("", 5s));
    CHECK_FALSE(watcher.is_connected());
    const auto events_end = events.finish(10s);
    INFO("qwire events said: " << events_end.err);
    CHECK(events_end.status == 0);
    const auto proxy = p.proxy->finish(10s);
    CHECK(proxy.status == 0);  // QEMU's socket closed between messages: an orderly end
    CHECK(proxy.err.find("QEMU closed the connection") != std::string::npos);
}

TEST_CASE("proxy --record: a session replays through qmp::client with no QEMU") {
    temp_dir records;
    QWIRE_START_PROXY(p, {"--record", records.path()});
    {
        auto vm = sync_client::connect(p.socket).value();
        REQUIRE(vm.execute("query-status"));
        REQUIRE(vm.execute("cont"));
        REQUIRE(vm.execute("query-name"));
    }
    const std::string base = records.file("session-0001");
    for (int i = 0; i < 200 && !std::filesystem::exists(base + ".chunks.json"); ++i) std::this_thread::sleep_for(20ms);
    REQUIRE(std::filesystem::exists(base + ".chunks.json"));
    const auto s2c = read_file(base + ".s2c");
    const auto c2s = read_file(base + ".c2s");
    CHECK(c2s.find(R"({"execute":"cont","id":1})") != std::string::npos);
    const auto chunks = json::parse(read_file(base + ".chunks.json"));
    std::size_t s2c_bytes = 0;
    for (const auto& c : chunks["chunks"]) if (c[0] == "s2c") s2c_bytes += c[2].get<std::size_t>();
    CHECK(s2c_bytes == s2c.size());
    // Replay, with the chunk sizes QEMU's answers really had.
    qmp::client replay;
    for (const char* c : {"query-status", "cont", "query-name"}) REQUIRE(replay.execute(c));
    std::size_t at = 0;
    for (const auto& c : chunks["chunks"]) {
        if (c[0] != "s2c") continue;
        REQUIRE(replay.receive(std::string_view(s2c).substr(at, c[2].get<std::size_t>())));
        at += c[2].get<std::size_t>();
    }
    std::vector<std::string> outcome;
    while (auto e = replay.next_event()) {
        if (auto* r = std::get_if<qmp::reply>(&*e)) outcome.push_back("reply " + r->value.dump());
        else if (auto* ev = std::get_if<qmp::event>(&*e)) outcome.push_back("event " + ev->name);
        else if (std::holds_alternative<protocol_violation>(*e)) outcome.push_back("violation");
    }
    CHECK(outcome == std::vector<std::string>{
                         R"(reply {"running":false,"singlestep":false,"status":"prelaunch"})", "event RESUME",
                         "reply {}", "reply {}"});
}

}  // namespace qwire::test
