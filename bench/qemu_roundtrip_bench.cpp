// Round trips against one real QEMU (-machine none), through qwire and through a minimal raw
// blocking-socket loop doing the same, so the two can be compared in one run:
//   sequential query-status: qwire::sync_client vs raw write-then-read-a-line
//   1000 pipelined query-status with OOB enabled: qwire::epoll vs raw write-all-then-read-all
// QEMU serves one client at a time; each benchmark connects, runs, and disconnects.
// Next to the rate: this process's CPU time per command (getrusage, user + system) and the
// bytes written per command (qwire's counted by its outbound observer).
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "qemu_process.hpp"
#include "qwire/epoll/qmp_connection.hpp"
#include "qwire/sync_client.hpp"

namespace {

using namespace std::chrono_literals;

qwire::test::qemu_process& qemu() {
    static std::optional<qwire::test::qemu_process> q = [] {
        std::string why;
        auto started = qwire::test::qemu_process::start({}, why);
        if (!started) {
            std::fprintf(stderr, "cannot start QEMU: %s\n", why.empty() ? "not installed" : why.c_str());
            std::exit(1);
        }
        return started;
    }();
    return *q;
}

// This process's CPU time so far, in microseconds.
double cpu_micros() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto micros = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return micros(usage.ru_utime) + micros(usage.ru_stime);
}

// Counts what one benchmark's loop costs this process, from construction to report().
class cost_meter {
public:
    cost_meter() : cpu_(cpu_micros()) {}
    void report(benchmark::State& state, std::size_t commands, std::size_t bytes_written) const {
        const auto n = static_cast<double>(commands);
        state.counters["cpu_us_per_cmd"] = (cpu_micros() - cpu_) / n;
        state.counters["bytes_per_cmd"] = static_cast<double>(bytes_written) / n;
    }

private:
    double cpu_;
};

// Client options whose observer adds every outbound message's size to `written`.
qwire::epoll::connection_options counting(std::size_t& written) {
    qwire::epoll::connection_options options;
    options.client.observer = [&written](qwire::direction d, std::string_view bytes) {
        if (d == qwire::direction::outbound) written += bytes.size();
    };
    return options;
}

// A minimal blocking QMP client: no framing beyond "one reply per line", no error handling.
class raw_qmp {
public:
    explicit raw_qmp(const std::string& path, bool oob) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
        read_line();  // greeting
        send(oob ? R"({"execute":"qmp_capabilities","arguments":{"enable":["oob"]}})" : R"({"execute":"qmp_capabilities"})");
        read_line();
        written = 0;
    }
    ~raw_qmp() { ::close(fd_); }
    std::size_t written = 0;  // bytes sent after the handshake
    void send(std::string_view bytes) {
        written += bytes.size();
        while (!bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n <= 0) std::abort();
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    std::string read_line() {
        for (;;) {
            if (auto at = buffer_.find('\n'); at != std::string::npos) {
                std::string line = buffer_.substr(0, at);
                buffer_.erase(0, at + 1);
                return line;
            }
            char chunk[65536];
            const ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n <= 0) std::abort();
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    std::string buffer_;
};

void sync_client_sequential(benchmark::State& state) {
    std::size_t written = 0;
    auto c = qwire::sync_client::connect(qemu().socket_path(), 10s, counting(written));
    if (!c) return state.SkipWithError(c.error().message().c_str());
    written = 0;
    const cost_meter cost;
    for (auto _ : state) {
        auto r = c->execute("query-status");
        if (!r) return state.SkipWithError(r.error().message().c_str());
        benchmark::DoNotOptimize(*r);
    }
    cost.report(state, state.iterations(), written);
    state.counters["round_trips"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void raw_sequential(benchmark::State& state) {
    raw_qmp raw(qemu().socket_path(), false);
    const cost_meter cost;
    for (auto _ : state) {
        raw.send(R"({"execute":"query-status"})");
        benchmark::DoNotOptimize(raw.read_line());
    }
    cost.report(state, state.iterations(), raw.written);
    state.counters["round_trips"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

constexpr int batch = 1000;

void epoll_pipelined_oob(benchmark::State& state) {
    auto loop = qwire::epoll::loop::create().value();
    std::size_t replies = 0, written = 0;
    auto conn = qwire::epoll::qmp_connection::connect(
                    loop, *qwire::epoll::endpoint::parse(qemu().socket_path()), counting(written),
                    [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
                        replies += std::holds_alternative<qwire::qmp::reply>(e);
                    })
                    .value();
    while (!conn->is_ready()) (void)loop.run_once(1s);
    if (!conn->client().oob_enabled()) return state.SkipWithError("OOB not enabled");
    written = 0;
    const cost_meter cost;
    for (auto _ : state) {
        replies = 0;
        for (int i = 0; i < batch; ++i) (void)conn->execute("query-status");
        while (replies < batch) (void)loop.run_once(1s);
    }
    cost.report(state, state.iterations() * batch, written);
    state.counters["commands"] = benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

void raw_pipelined_oob(benchmark::State& state) {
    raw_qmp raw(qemu().socket_path(), true);
    std::string commands;
    for (int i = 0; i < batch; ++i) commands += R"({"execute":"query-status","id":)" + std::to_string(i) + "}";
    const cost_meter cost;
    for (auto _ : state) {
        raw.send(commands);  // QEMU stops reading while its queue of 8 is full; the kernel holds the rest
        for (int i = 0; i < batch; ++i) benchmark::DoNotOptimize(raw.read_line());
    }
    cost.report(state, state.iterations() * batch, raw.written);
    state.counters["commands"] = benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(sync_client_sequential)->MinTime(2.0)->UseRealTime();
BENCHMARK(raw_sequential)->MinTime(2.0)->UseRealTime();
BENCHMARK(epoll_pipelined_oob)->MinTime(2.0)->UseRealTime();
BENCHMARK(raw_pipelined_oob)->MinTime(2.0)->UseRealTime();
BENCHMARK_MAIN();
