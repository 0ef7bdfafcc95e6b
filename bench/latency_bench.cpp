// Latency under load: round trips of one QMP connection (query-status, one at a time) on an
// epoll loop that also serves `flooders` other connections whose fake QEMUs each emit
// `burst` events every millisecond. The fake QEMUs (bench/mock_peer.hpp) run on a loop of their own
// in a second thread, as a real QEMU would run elsewhere; the clients share the measured loop.
// The same with no flooders is the baseline. Reported: p50 and p99 round trip in microseconds
// and the flood events the client loop took in per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "mock_peer.hpp"
#include "qwire/epoll/qmp_connection.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr int round_trips = 2000;
constexpr auto time_limit = std::chrono::seconds(10);  // fewer round trips if they are slow

double percentile(std::vector<double>& samples, double p) {
    const auto at = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
    return samples[at];
}

void round_trip_under_flood(benchmark::State& state) {
    const auto flooders = static_cast<std::size_t>(state.range(0));
    const auto burst = static_cast<int>(state.range(1));
    for (auto _ : state) {
        auto loop = qwire::epoll::loop::create().value();
        auto peer_loop = qwire::epoll::loop::create().value();
        std::vector<std::unique_ptr<qwire::bench::mock_peer>> peers;
        std::vector<std::unique_ptr<qwire::epoll::qmp_connection>> clients;
        std::size_t events = 0, ready = 0, replies = 0, failures = 0;
        auto handler = [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
            events += std::holds_alternative<qwire::qmp::event>(e);
            ready += std::holds_alternative<qwire::qmp::ready>(e);
            replies += std::holds_alternative<qwire::qmp::reply>(e);
            failures += std::holds_alternative<qwire::disconnect>(e);
        };
        for (std::size_t i = 0; i <= flooders; ++i) {
            auto [client_end, server_end] = qwire::bench::socket_pair();
            // The last one is measured: its fake QEMU only answers.
            peers.push_back(std::make_unique<qwire::bench::mock_peer>(peer_loop, std::move(server_end),
                                                                       i < flooders ? burst : 0));
            clients.push_back(qwire::epoll::qmp_connection::adopt(loop, std::move(client_end), {}, handler));
        }
        std::jthread peer_thread([&peer_loop](std::stop_token stop) {
            while (!stop.stop_requested()) (void)peer_loop.run_once(10ms);
        });
        while (ready + failures <= flooders) (void)loop.run_once(1s);
        auto& measured = *clients.back();
        std::vector<double> micros;
        micros.reserve(round_trips);
        const std::size_t events_before = events;
        const auto start = clock_type::now();
        for (int i = 0; i < round_trips && failures == 0 && clock_type::now() - start < time_limit; ++i) {
            const std::size_t want = replies + 1;
            const auto sent = clock_type::now();
            (void)measured.execute("query-status");
            while (replies < want && failures == 0) (void)loop.run_once(1s);
            micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - sent).count());
        }
        const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        peer_thread.request_stop();
        peer_thread.join();
        if (failures != 0) return state.SkipWithError("a connection failed");
        state.SetIterationTime(elapsed);
        state.counters["round_trips"] = static_cast<double>(micros.size());
        state.counters["p50_us"] = percentile(micros, 0.50);
        state.counters["p99_us"] = percentile(micros, 0.99);
        state.counters["flood_events_per_s"] = static_cast<double>(events - events_before) / elapsed;
        clients.clear();
        peers.clear();
    }
}

}  // namespace

// Idle, and 100 flooders at 200k events/s in all (about 40% of what the loop can take in).
BENCHMARK(round_trip_under_flood)->Args({0, 0})->Args({100, 2})->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
