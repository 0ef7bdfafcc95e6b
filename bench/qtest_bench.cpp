// 1000 pipelined qtest `readl` against one real QEMU (-qtest, guest stopped), through
// qwire's qtest client on the epoll adapter and through a raw blocking-socket loop, in one run.
// QEMU serves one qtest client at a time: each benchmark has its own QEMU.
#include <benchmark/benchmark.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "qemu_process.hpp"
#include "qwire/epoll/connection.hpp"
#include "qwire/qtest/client.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int batch = 1000;

qwire::test::qemu_process start() {
    std::string why;
    auto q = qwire::test::qemu_process::start_qtest(false, why);
    if (!q) {
        std::fprintf(stderr, "cannot start QEMU: %s\n", why.empty() ? "not installed" : why.c_str());
        std::exit(1);
    }
    return std::move(*q);
}

void qwire_epoll_readl(benchmark::State& state) {
    auto qemu = start();
    auto loop = qwire::epoll::loop::create().value();
    std::size_t replies = 0;
    auto conn = qwire::epoll::connection<qwire::qtest::client>::connect(
                    loop, *qwire::epoll::endpoint::parse(qemu.socket_path()), {},
                    [&](auto&, qwire::qtest::client_event& e) { replies += std::holds_alternative<qwire::qtest::reply>(e); })
                    .value();
    for (auto _ : state) {
        replies = 0;
        for (int i = 0; i < batch; ++i) (void)conn->submit([](auto& c) { return c.readl(0x3000); });
        while (replies < batch) (void)loop.run_once(1s);
    }
    state.counters["readl"] = benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

void raw_readl(benchmark::State& state) {
    auto qemu = start();
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, qemu.socket_path().c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    std::string commands;
    for (int i = 0; i < batch; ++i) commands += "readl 0x3000\n";
    std::string buffer;
    for (auto _ : state) {
        for (std::string_view rest = commands; !rest.empty();) {
            const ssize_t n = ::write(fd, rest.data(), rest.size());
            if (n <= 0) std::abort();
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        int lines = 0;
        while (lines < batch) {
            char chunk[65536];
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0) std::abort();
            for (ssize_t i = 0; i < n; ++i) lines += chunk[i] == '\n';
        }
    }
    ::close(fd);
    state.counters["readl"] = benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(qwire_epoll_readl)->MinTime(2.0)->UseRealTime();
BENCHMARK(raw_readl)->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
