// ./run demo: a real QEMU driven through qwire, step by step, in plain words.
//
// It starts qemu-system-x86_64 in a private folder (sandbox.hpp) and shows the greeting and the
// negotiation, query-version, the size of the QMP schema, cont and stop with their events
// arriving before their replies, 10,000 pipelined commands, an out-of-band command overtaking
// in-band ones, a file descriptor passed to QEMU, a hostile peer that ends in a typed error
// rather than a crash, and quit. Every time and rate printed is measured while it runs.
//
// Exit status: 0 when every step did what it shows; 1 when one did not (the reason is
// printed); 2 when QEMU cannot start; 128 + N after signal N (QEMU and its folder are gone).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "hostile_peer.hpp"
#include "narration.hpp"
#include "qwire/sync_client.hpp"
#include "sandbox.hpp"
#include "watched_connection.hpp"

namespace {

using namespace std::chrono_literals;
using namespace demo;
using clock_type = std::chrono::steady_clock;
namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;

constexpr int pipelined_commands = 10'000;

// Step 2: connect with the blocking client and look at what was negotiated. The client's
// message observer stores the size of each message received in `received_bytes`.
qwire::sync_client connect_blocking(const sandbox& qemu, const std::shared_ptr<std::size_t>& received_bytes) {
    step(2, "Connect and negotiate (qwire::sync_client: one call, one answer)");
    say("QEMU speaks first: a greeting with its version and the capabilities it offers. qwire");
    say("answers with qmp_capabilities, enabling what it supports, and only then sends commands.");
    epoll::connection_options options;
    options.client.observer = [received_bytes](qwire::direction way, std::string_view message) {
        if (way == qwire::direction::inbound) *received_bytes = message.size();
    };
    const auto start = clock_type::now();
    auto client = must(qwire::sync_client::connect(qemu.file(sync_socket), 10s, std::move(options)), "connecting");
    const auto elapsed = clock_type::now() - start;
    const auto& greeting = client.greeting();
    const auto& v = greeting.version["qemu"];
    say("greeting:   QEMU " + std::to_string(v.value("major", 0)) + "." + std::to_string(v.value("minor", 0)) + "." +
        std::to_string(v.value("micro", 0)) + ", offers capabilities " + nlohmann::json(greeting.capabilities).dump());
    say(std::string("negotiated: ") +
        (client.oob_enabled() ? "\"oob\" enabled: out-of-band commands may overtake queued ones"
                              : "no capabilities enabled"));
    say("connected, greeted and negotiated in " + took(elapsed));
    return client;
}

// Steps 3 and 4: two plain commands, one with a large answer.
void ask_version_and_schema(qwire::sync_client& client, const std::size_t& received_bytes) {
    step(3, "query-version");
    auto start = clock_type::now();
    const auto version = must(client.execute("query-version"), "query-version");
    say("→ query-version");
    say("← " + brief(version, 100) + "   (" + took(clock_type::now() - start) + ")");

    step(4, "query-qmp-schema: QEMU describes its whole protocol");
    start = clock_type::now();
    const auto schema = must(client.execute("query-qmp-schema"), "query-qmp-schema");
    const auto elapsed = clock_type::now() - start;
    std::map<std::string, int> kinds;
    for (const auto& entity : schema) ++kinds[entity.value("meta-type", "?")];
    say(grouped(received_bytes) + " bytes of JSON in one message, received and parsed in " + took(elapsed) + ":");
    say(grouped(kinds["command"]) + " commands, " + grouped(kinds["event"]) + " events and " +
        grouped(schema.size() - static_cast<std::size_t>(kinds["command"] + kinds["event"])) + " types.");
}

// Step 5: the order in which a state change and its command's reply arrive.
void cont_and_stop(watched_connection& loop) {
    step(5, "cont and stop (qwire::epoll::qmp_connection: event-driven, on an epoll loop)");
    say("A second QMP socket, driven by an event loop. Its handler prints each message as it comes.");
    say("The guest was started paused (-S); cont runs it, stop pauses it again.");
    loop.narrate(true);
    for (const auto& change : {std::pair{"cont", "event RESUME"}, std::pair{"stop", "event STOP"}}) {
        const std::string command = change.first, event = change.second;  // lambdas capture these
        loop.forget();
        const auto id = loop.send(command);
        const auto& seen = loop.arrivals();
        const auto find = [&](auto&& matches) { return std::find_if(seen.begin(), seen.end(), matches); };
        const auto is_event = [&](const auto& a) { return a.what == event; };
        const auto is_reply = [&](const auto& a) { return a.id == id; };
        check(loop.run_until([&] { return find(is_event) != seen.end() && find(is_reply) != seen.end(); }, 10s),
              command + " did not bring both its reply and " + event);
        say(find(is_event) < find(is_reply) ? "   the event came first: QEMU announces the change, then answers"
                                            : "   the reply came first this time");
    }
    loop.narrate(false);
}

// Step 6: many commands in flight, each reply matched to its request.
void pipeline(watched_connection& loop) {
    step(6, grouped(pipelined_commands) + " pipelined commands");
    say("The program hands qwire " + grouped(pipelined_commands) + " query-status commands at once, without waiting.");
    say("qwire keeps as many in flight as QEMU queues (8 with OOB on), writes them compactly (QEMU");
    say("reads one byte per system call), and matches every reply to its request by id.");
    loop.forget();
    std::vector<qwire::request_id> ids;
    ids.reserve(pipelined_commands);
    const auto start = clock_type::now();
    const std::clock_t cpu_start = std::clock();
    const auto before = loop.completed();
    for (int i = 0; i < pipelined_commands; ++i) ids.push_back(loop.send("query-status"));
    check(loop.run_until([&] { return loop.completed() - before == ids.size() || loop.ended(); }, 50s),
          "the pipelined replies did not all come within 50 s");
    const auto elapsed = std::chrono::duration<double>(clock_type::now() - start);
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    check(loop.completion_order() == ids, "the replies did not match their requests in order");
    check(loop.failures().empty(), "a pipelined command failed");
    char rate[128];
    std::snprintf(rate, sizeof rate, "%s replies in %.2f s: %s commands per second, %.0f µs each.",
                  grouped(ids.size()).c_str(), elapsed.count(),
                  grouped(static_cast<std::uint64_t>(static_cast<double>(ids.size()) / elapsed.count())).c_str(),
                  elapsed.count() * 1e6 / static_cast<double>(ids.size()));
    say(rate);
    std::snprintf(rate, sizeof rate, "Every reply matched its request, in order. This process used %.2f s of CPU", cpu);
    say(rate);
    std::snprintf(rate, sizeof rate, "for it (%.0f%% of the time); the rest was spent waiting for QEMU.",
                  100 * cpu / elapsed.count());
    say(rate);
}

// Step 7: an out-of-band command answered before in-band ones sent earlier.
void overtake(watched_connection& loop) {
    step(7, "Out-of-band: a later command answered first");
    say("Three in-band query-qmp-schema (slow: a large answer each), then query-yank sent out of");
    say("band. QEMU runs in-band commands one at a time, in order; OOB ones at once.");
    loop.forget();
    loop.narrate(true);
    std::vector<qwire::request_id> slow;
    for (int i = 0; i < 3; ++i) slow.push_back(loop.send("query-qmp-schema"));
    qmp::exec_options oob;
    oob.oob = true;
    const auto fast = loop.send("query-yank", nullptr, oob);
    check(loop.run_until([&] { return loop.completion_order().size() == 4 || loop.ended(); }, 20s),
          "the four replies did not come");
    loop.narrate(false);
    const auto& order = loop.completion_order();
    const auto overtaken = static_cast<int>(order.end() - std::find(order.begin(), order.end(), fast)) - 1;
    say("   query-yank was sent last and overtook " + std::to_string(overtaken) + " of the 3 in-band commands.");
}

// Step 8: a file descriptor travels with a command.
void pass_descriptor(qwire::sync_client& client) {
    step(8, "Passing a file descriptor");
    say("Some commands take an open file from the client (add-fd, getfd). qwire sends it as");
    say("SCM_RIGHTS ancillary data on the first byte of the command that uses it.");
    int pipe_fds[2];
    check(::pipe(pipe_fds) == 0, "pipe() failed");
    const auto added = client.execute_with_fds("add-fd", {{"opaque", "qwire demo"}}, {pipe_fds[1]});
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    const auto result = must(added, "add-fd");
    say("→ add-fd {\"opaque\":\"qwire demo\"} with this process's descriptor " + std::to_string(pipe_fds[1]) +
        " (a pipe's write end)");
    say("← " + brief(result));
    const auto sets = must(client.execute("query-fdsets"), "query-fdsets");
    bool listed = false;
    for (const auto& set : sets) {
        for (const auto& fd : set.value("fds", nlohmann::json::array())) {
            listed |= set["fdset-id"] == result["fdset-id"] && fd["fd"] == result["fd"];
        }
    }
    check(listed, "query-fdsets does not list the descriptor");
    say("query-fdsets lists it in fdset " + result["fdset-id"].dump() + " as QEMU's own descriptor " +
        result["fd"].dump() + ": the file arrived.");
    must(client.close(), "closing the blocking client");
}

// Step 9: a peer that breaks the protocol; the client ends the session with a typed error.
void survive_hostile_peer(epoll::loop& loop, const sandbox& qemu) {
    step(9, "A hostile peer: typed errors, not a crash");
    qmp::client_options defaults;
    const std::size_t depth = 2 * defaults.max_depth;
    say("A fake QEMU (qwire::qmp::server, in this process, on the same epoll loop) greets and");
    say("negotiates like QEMU 7.2, then answers query-status with a reply for an id nobody sent,");
    say("then a JSON array nested " + grouped(depth) + " deep, beyond the client's limit of " +
        grouped(defaults.max_depth) + ".");
    auto peer = must(hostile_peer::listen(loop, qemu.file(mock_socket),
                                          "{\"return\": {}, \"id\": \"never-sent\"}\r\n" + std::string(depth, '[')),
                     "starting the fake QEMU");
    watched_connection victim(loop, qemu.file(mock_socket));
    victim.narrate(true);
    victim.send("query-status");
    check(victim.run_until([&] { return victim.ended().has_value(); }, 10s), "the hostile session did not end");
    check(!victim.violations().empty() && victim.violations().front().code() == qwire::errc::unknown_reply_id &&
              !victim.violations().front().is_fatal(),
          "the stray reply was not reported as a non-fatal unknown_reply_id");
    check(victim.ended()->code() == qwire::errc::nesting_too_deep && victim.ended()->is_fatal(),
          "the session did not end with nesting_too_deep");
    check(victim.run_until([&] { return peer->client_gone(); }, 5s), "the client did not hang up");
    say("   The stray reply was dropped and reported; the session went on. The deep array was");
    say("   refused at the byte that crossed the limit, the waiting command failed, and the");
    say("   connection ended with its cause. Nothing was thrown; this program carries on.");
}

// Step 10: quit, and QEMU's orderly exit.
void quit(watched_connection& loop, sandbox& qemu) {
    step(10, "quit");
    loop.forget();
    loop.narrate(true);
    loop.send("quit");
    check(loop.run_until([&] { return loop.ended().has_value(); }, 10s), "the session did not end after quit");
    loop.narrate(false);
    const auto& seen = loop.arrivals();
    const auto shutdown = std::find_if(seen.begin(), seen.end(), [](const auto& a) { return a.what == "event SHUTDOWN"; });
    const auto reply = std::find_if(seen.begin(), seen.end(), [](const auto& a) { return a.what == "reply to quit"; });
    check(shutdown < reply && reply != seen.end(), "SHUTDOWN and then the reply did not both come");
    check(loop.ended()->code() == qwire::errc::peer_closed, "the session did not end in order");
    const auto status = qemu.wait_exit(10s);
    check(status && WIFEXITED(*status), "QEMU did not exit after quit");
    say("   SHUTDOWN, the reply, then QEMU closed the socket between two messages: peer_closed,");
    say("   the orderly end. QEMU exited with status " + std::to_string(WEXITSTATUS(*status)) + ".");
}

int run_demo() {
    const auto start = clock_type::now();
    std::printf("qwire demo: qwire speaks QMP, the JSON protocol QEMU is driven by, as a state machine\n"
                "with no I/O inside; adapters connect it to sockets. This demo starts a real QEMU and\n"
                "shows what the library does with it. Every time and rate below is measured now.\n");

    step(1, "Start QEMU");
    std::string why_not;
    auto qemu = sandbox::start(why_not);
    if (!qemu) {
        std::fprintf(stderr, "demo: %s\n", why_not.empty() ? "qemu-system-x86_64 is not installed (apt-get install "
                                                             "qemu-system-x86)" : why_not.c_str());
        return 2;
    }
    const auto& argv = qemu->command_line();
    std::string line = "qemu-system-x86_64";
    for (std::size_t i = 1; i < argv.size(); ++i) {
        if (argv[i] == "-chardev") {
            say(line);
            line = "   ";
        }
        line += " " + argv[i];
    }
    say(line);
    say("A PC with 64 MiB of memory, paused before its first instruction (-S), emulated in software");
    say("(TCG), with no devices and no display, and two QMP monitors on sockets in a private folder:");
    say("pid " + std::to_string(qemu->pid()) + ", folder " + qemu->folder() + ", sockets ready after " +
        took(clock_type::now() - start));

    const auto received_bytes = std::make_shared<std::size_t>(0);
    auto client = connect_blocking(*qemu, received_bytes);
    ask_version_and_schema(client, *received_bytes);

    auto loop = must(epoll::loop::create(), "creating the epoll loop");
    watched_connection monitor(loop, qemu->file(loop_socket));
    check(monitor.run_until([&] { return monitor.connection().is_ready() || monitor.ended(); }, 10s),
          "the event-driven connection did not become ready");
    cont_and_stop(monitor);
    pipeline(monitor);
    overtake(monitor);
    pass_descriptor(client);
    survive_hostile_peer(loop, *qemu);
    quit(monitor, *qemu);

    const std::string folder = qemu->folder();
    qemu.reset();
    check(!std::filesystem::exists(folder), "the folder is still there");
    step(11, "Done");
    say("QEMU is gone, its folder " + folder + " removed. Whole demo: " + took(clock_type::now() - start) + ".");
    return 0;
}

}  // namespace

int main() {
    clean_up_on_signals();
    try {
        return run_demo();
    } catch (const std::exception& e) {
        // Unwinding has already killed QEMU and removed its folder.
        std::fflush(stdout);
        std::fprintf(stderr, "\ndemo: a step did not do what it shows: %s\n", e.what());
        return 1;
    }
}
