// Pipelined QMP commands per second through the Asio adapter, next to the epoll adapter, against
// one real QEMU (-machine none, OOB enabled) in one run:
//   asio_callbacks_pipelined     1000 async_execute(query-status) with callbacks, then collect
//   asio_coroutines_pipelined    10 coroutines, each awaiting 100 query-status in turn
//   epoll_pipelined              1000 qwire::epoll::qmp_connection::execute, then collect
// QEMU serves one client at a time on its monitor: each benchmark connects, runs, and closes.
#include <benchmark/benchmark.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <cstdio>
#include <optional>
#include <string>

#include "qemu_process.hpp"
#include "qwire/asio/qmp_connection.hpp"
#include "qwire/epoll/qmp_connection.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int batch = 1000;

const std::string& qmp_socket() {
    static std::optional<qwire::test::qemu_process> q = [] {
        std::string why;
        auto started = qwire::test::qemu_process::start({}, why);
        if (!started) {
            std::fprintf(stderr, "cannot start QEMU: %s\n", why.empty() ? "not installed" : why.c_str());
            std::exit(1);
        }
        return started;
    }();
    return q->socket_path();
}

void count_commands(benchmark::State& state) {
    state.counters["commands"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                    benchmark::Counter::kIsRate);
}

// Connects on `io` (run by this thread), runs `body` while ready with OOB, then closes.
template <class Body>
void with_asio_connection(benchmark::State& state, Body body) {
    asio::io_context io;
    qwire::asio::unix_qmp_connection conn(io);
    std::optional<std::error_code> connected;
    conn.async_connect(asio::local::stream_protocol::endpoint(qmp_socket()), [&](std::error_code ec) { connected = ec; });
    while (!connected) io.run_one();
    if (*connected) return state.SkipWithError(connected->message().c_str());
    if (!conn.client().oob_enabled()) return state.SkipWithError("OOB not enabled");
    body(io, conn);
    bool closed = false;
    conn.async_close([&](std::error_code) { closed = true; });
    while (!closed) io.run_one();
    count_commands(state);
}

void asio_callbacks_pipelined(benchmark::State& state) {
    with_asio_connection(state, [&](asio::io_context& io, qwire::asio::unix_qmp_connection& conn) {
        for (auto _ : state) {
            int done = 0, failed = 0;
            for (int i = 0; i < batch; ++i) {
                conn.async_execute("query-status", [&](std::error_code ec, json) { ++(ec ? failed : done); });
            }
            while (done + failed < batch) io.run_one();
            if (failed) return state.SkipWithError("a command failed");
        }
    });
}

void asio_coroutines_pipelined(benchmark::State& state) {
    constexpr int workers = 10;
    with_asio_connection(state, [&](asio::io_context& io, qwire::asio::unix_qmp_connection& conn) {
        for (auto _ : state) {
            int finished = 0;
            bool failed = false;
            for (int w = 0; w < workers; ++w) {
                asio::co_spawn(
                    io,
                    [&]() -> asio::awaitable<void> {
                        for (int i = 0; i < batch / workers; ++i) {
                            auto [ec, v] = co_await conn.async_execute("query-status", asio::experimental::as_tuple(asio::use_awaitable));
                            failed = failed || ec;
                        }
                    },
                    [&](std::exception_ptr) { ++finished; });
            }
            while (finished < workers) io.run_one();
            if (failed) return state.SkipWithError("a command failed");
        }
    });
}

void epoll_pipelined(benchmark::State& state) {
    auto loop = qwire::epoll::loop::create().value();
    int replies = 0;
    auto conn = qwire::epoll::qmp_connection::connect(
                    loop, *qwire::epoll::endpoint::parse(qmp_socket()), {},
                    [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
                        replies += std::holds_alternative<qwire::qmp::reply>(e);
                    })
                    .value();
    while (!conn->is_ready()) (void)loop.run_once(1s);
    if (!conn->client().oob_enabled()) return state.SkipWithError("OOB not enabled");
    for (auto _ : state) {
        replies = 0;
        for (int i = 0; i < batch; ++i) (void)conn->execute("query-status");
        while (replies < batch) (void)loop.run_once(1s);
    }
    count_commands(state);
}

}  // namespace

BENCHMARK(asio_callbacks_pipelined)->MinTime(2.0)->UseRealTime();
BENCHMARK(asio_coroutines_pipelined)->MinTime(2.0)->UseRealTime();
BENCHMARK(epoll_pipelined)->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
