// Scale: one epoll loop holding N connections (10,000, or as many as RLIMIT_NOFILE allows) to in-process fake QEMUs on
// socketpairs (bench/mock_peer.hpp, served by the same loop). Each connection negotiates, goes
// idle, then runs 10 commands (8 in flight, QEMU's OOB queue). Reported: time for the handshakes
// and for the commands, commands per second, and resident memory per idle client connection
// after the handshake: RSS with all fake QEMUs made and their greetings written, before the
// clients exist, against RSS once every client is ready. Socket buffers are kernel memory and
// not part of RSS; the fake QEMUs' own growth during the handshake is (it counts against us).
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <vector>

#include "mock_peer.hpp"
#include "qwire/epoll/qmp_connection.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr int commands_each = 10;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

void epoll_10k_connections(benchmark::State& state) {
    // Both ends of every socketpair live in this process: two descriptors per connection. When
    // the hard limit is lower than that, as many connections as fit under it.
    constexpr std::size_t spare_fds = 64;
    const rlim_t limit = qwire::bench::raise_fd_limit(2 * static_cast<rlim_t>(state.range(0)) + spare_fds);
    const std::size_t n = std::min(static_cast<std::size_t>(state.range(0)), (limit - spare_fds) / 2);
    for (auto _ : state) {
        auto loop = qwire::epoll::loop::create().value();
        std::vector<std::unique_ptr<qwire::bench::mock_peer>> peers;
        std::vector<qwire::epoll::unique_fd> client_ends;
        peers.reserve(n);
        client_ends.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto [client_end, server_end] = qwire::bench::socket_pair();
            peers.push_back(std::make_unique<qwire::bench::mock_peer>(loop, std::move(server_end)));
            client_ends.push_back(std::move(client_end));
        }
        std::vector<std::unique_ptr<qwire::epoll::qmp_connection>> clients;
        clients.reserve(n);
        std::size_t ready = 0, replies = 0, failures = 0;
        auto handler = [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
            ready += std::holds_alternative<qwire::qmp::ready>(e);
            replies += std::holds_alternative<qwire::qmp::reply>(e);
            failures += std::holds_alternative<qwire::disconnect>(e) ||
                        std::holds_alternative<qwire::request_failed>(e);
        };
        const std::size_t rss_before = qwire::bench::resident_bytes();
        const auto start = clock_type::now();
        for (auto& fd : client_ends) {
            clients.push_back(qwire::epoll::qmp_connection::adopt(loop, std::move(fd), {}, handler));
        }
        while (ready + failures < n) (void)loop.run_once(1s);
        const double handshake_s = seconds_since(start);
        const std::size_t rss_idle = qwire::bench::resident_bytes();

        const auto commands_start = clock_type::now();
        for (auto& c : clients) {
            for (int i = 0; i < commands_each; ++i) (void)c->execute("query-status");
        }
        while (replies + failures < n * commands_each) (void)loop.run_once(1s);
        const double commands_s = seconds_since(commands_start);
        if (failures != 0) return state.SkipWithError("a connection failed");

        state.SetIterationTime(handshake_s + commands_s);
        state.counters["connections"] = static_cast<double>(n);
        state.counters["handshake_s"] = handshake_s;
        state.counters["commands_s"] = commands_s;
        state.counters["commands_per_s"] = static_cast<double>(n * commands_each) / commands_s;
        state.counters["idle_bytes_per_conn"] =
            (static_cast<double>(rss_idle) - static_cast<double>(rss_before)) / static_cast<double>(n);
        clients.clear();
        peers.clear();
    }
}

}  // namespace

// Once per run: a second run in the same process would reuse the first one's freed heap, and
// its RSS would not grow.
BENCHMARK(epoll_10k_connections)->Arg(10000)->Iterations(1)->Repetitions(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
