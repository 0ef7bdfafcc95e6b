// The ./run demo program (examples/demo/) run as a user runs it, against a real QEMU: it goes
// to the end and shows every step; interrupted half-way, it leaves no QEMU and no folder.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

#include "qemu_process.hpp"
#include "testing.hpp"

using namespace std::chrono_literals;
namespace test = qwire::test;

namespace {

// Starts the demo with its temporary folder under `tmp` (through TMPDIR) and its output in `log`.
test::child_process start_demo(const test::temp_dir& tmp, const std::string& log) {
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", tmp.path().c_str(), 1);
    auto demo = test::child_process::spawn({QWIRE_DEMO_PROGRAM}, log);
    if (old) ::setenv("TMPDIR", saved.c_str(), 1);
    else ::unsetenv("TMPDIR");
    return demo;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits until the output holds `text`, or the demo ends, or the timeout.
bool wait_for_output(const std::string& log, const std::string& text, test::child_process& demo,
                     std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until && demo.running()) {
        if (read_all(log).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

// The folder the demo says it made for QEMU.
std::string demo_folder(const std::string& output) {
    std::smatch m;
    return std::regex_search(output, m, std::regex("folder (\\S+), sockets ready")) ? m[1].str() : "";
}

// True when some process still names `folder` on its command line (QEMU's sockets are there).
bool process_mentions(const std::string& folder) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = read_all(entry.path() / "cmdline");
        if (cmdline.find(folder) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("demo: runs to the end against real QEMU in under a minute and shows each step") {
    if (!test::find_program("qemu-system-x86_64")) QWIRE_SKIP("qemu-system-x86_64 is not installed");
    test::temp_dir tmp;
    test::temp_dir logs;
    const auto log = logs.file("demo.out");
    const auto start = std::chrono::steady_clock::now();
    auto demo = start_demo(tmp, log);
    const auto status = demo.wait_exit(120s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const auto output = read_all(log);
    INFO(output);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(elapsed < 60s);
    for (const char* line : {"[1] Start QEMU", "negotiated: \"oob\" enabled", "← {\"package\":",
                             "bytes of JSON in one message", "← event RESUME", "the event came first",
                             "10,000 replies in", "commands per second", "overtook 3 of the 3",
                             "query-fdsets lists it", "unknown_reply_id (not fatal", "nesting_too_deep (fatal",
                             "← event SHUTDOWN", "peer_closed (fatal", "QEMU exited with status 0",
                             "Whole demo:"}) {
        CHECK(output.find(line) != std::string::npos);
    }
    const auto folder = demo_folder(output);
    CHECK(!folder.empty());
    CHECK(std::filesystem::is_empty(tmp.path()));
}

TEST_CASE("demo: Ctrl-C half-way leaves no QEMU, no socket and no folder") {
    if (!test::find_program("qemu-system-x86_64")) QWIRE_SKIP("qemu-system-x86_64 is not installed");
    test::temp_dir tmp;
    test::temp_dir logs;
    const auto log = logs.file("demo.out");
    auto demo = start_demo(tmp, log);
    // Mid-way: QEMU runs, both clients are connected and 10,000 commands are in flight.
    REQUIRE(wait_for_output(log, "[6] 10,000 pipelined commands", demo, 60s));
    const auto folder = demo_folder(read_all(log));
    REQUIRE(!folder.empty());
    CHECK(std::filesystem::exists(folder));
    demo.signal(SIGINT);
    const auto status = demo.wait_exit(10s);
    const auto output = read_all(log);
    INFO(output);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 128 + SIGINT);
    CHECK(output.find("interrupted: QEMU killed") != std::string::npos);
    CHECK(!std::filesystem::exists(folder));
    CHECK(std::filesystem::is_empty(tmp.path()));
    CHECK(!process_mentions(folder));
}
