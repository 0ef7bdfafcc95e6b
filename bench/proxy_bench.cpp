// Throughput through `qwire proxy` next to one client talking to QEMU directly, in one run:
// sequential query-status round trips from 1 sync_client on QEMU's own socket, then from 1
// and from 4 sync_clients (one thread each) through the proxy in front of the same QEMU.
// QEMU runs commands one at a time, so 4 clients through the proxy share its one monitor;
// the proxy keeps up to 8 of their commands in flight, which can beat a lone sequential client.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "qemu_process.hpp"
#include "qwire/sync_client.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int commands_per_client = 2000;

/// Runs `clients` sync_clients on `socket`, each in its own thread, each doing
/// commands_per_client query-status; the commands per second of all together.
double run_clients(const std::string& socket, int clients) {
    std::vector<qwire::sync_client> connected;
    for (int i = 0; i < clients; ++i) {
        auto c = qwire::sync_client::connect(socket);
        if (!c) {
            std::fprintf(stderr, "cannot connect to %s: %s\n", socket.c_str(), c.error().message().c_str());
            std::exit(1);
        }
        connected.push_back(std::move(*c));
    }
    std::atomic<int> failures{0};
    const auto start = clock_type::now();
    std::vector<std::thread> threads;
    for (auto& c : connected)
        threads.emplace_back([&c, &failures] {
            for (int i = 0; i < commands_per_client; ++i)
                if (!c.execute("query-status")) ++failures;
        });
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    if (failures) {
        std::fprintf(stderr, "%d commands failed\n", failures.load());
        std::exit(1);
    }
    return clients * commands_per_client / seconds;
}

}  // namespace

int main() {
    std::string why;
    auto qemu = qwire::test::qemu_process::start({}, why);
    if (!qemu) {
        std::fprintf(stderr, "cannot start QEMU: %s\n", why.empty() ? "not installed" : why.c_str());
        return 1;
    }
    const double direct = run_clients(qemu->socket_path(), 1);  // connects, runs, disconnects

    const std::string proxy_socket = qemu->dir().file("proxy.sock");
    auto proxy = qwire::test::child_process::spawn(
        {QWIRE_TOOL_PATH, "proxy", "--upstream", qemu->socket_path(), "--listen", proxy_socket}, qemu->dir().file("proxy.log"));
    if (!qwire::test::wait_for_socket(proxy_socket, proxy, std::chrono::seconds(10))) {
        std::fprintf(stderr, "the proxy did not start\n");
        return 1;
    }
    const double one = run_clients(proxy_socket, 1);
    const double four = run_clients(proxy_socket, 4);

    std::printf("%-40s %12s %8s\n", "sequential query-status", "commands/s", "ratio");
    std::printf("%-40s %12.0f %8.2f\n", "1 client, directly to QEMU", direct, 1.0);
    std::printf("%-40s %12.0f %8.2f\n", "1 client through qwire proxy", one, one / direct);
    std::printf("%-40s %12.0f %8.2f\n", "4 clients through qwire proxy (total)", four, four / direct);
    return 0;
}
