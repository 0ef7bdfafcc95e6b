// The QMP client on 17_pipeline_1000 (1000 query-status replies) replayed in memory, next to a
// bare nlohmann::json::parse of the same lines, pre-split: the floor any JSON-based client pays.
// Heap allocations are counted by the replaced operator new below and reported per reply.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwire/qmp/client.hpp"

namespace {
std::size_t allocations = 0;  // operator new calls in this process; one thread
}  // namespace

void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

void count_allocations(benchmark::State& state, std::size_t before, std::size_t replies) {
    state.counters["allocs_per_reply"] =
        replies == 0 ? 0.0 : static_cast<double>(allocations - before) / static_cast<double>(replies);
}

const std::string& pipeline() {
    static const std::string bytes = [] {
        std::ifstream in(std::string(QWIRE_CORPUS_DIR) + "/qmp/17_pipeline_1000.s2c", std::ios::binary);
        std::ostringstream b;
        b << in.rdbuf();
        return std::move(b).str();
    }();
    return bytes;
}

constexpr std::size_t handshake_bytes = 158;  // greeting and the reply to qmp_capabilities

// Executes 1000 commands, feeds the replies in 4 KiB reads, pulls every event.
void client_pipeline(benchmark::State& state) {
    const std::string& bytes = pipeline();
    std::size_t replies = 0;
    const std::size_t before = allocations;
    for (auto _ : state) {
        qwire::qmp::client client;
        (void)client.receive(std::string_view(bytes).substr(0, handshake_bytes));
        client.consume_output(client.pending_output().bytes.size());
        while (client.next_event()) {
        }
        for (int i = 0; i < 1000; ++i) (void)client.execute("query-status");
        for (std::size_t at = handshake_bytes; at < bytes.size(); at += 4096) {
            (void)client.receive(std::string_view(bytes).substr(at, 4096));
            client.consume_output(client.pending_output().bytes.size());
            while (auto e = client.next_event()) {
                replies += std::holds_alternative<qwire::qmp::reply>(*e);
                benchmark::DoNotOptimize(*e);
            }
        }
    }
    count_allocations(state, before, replies);
    if (replies != 1000 * static_cast<std::size_t>(state.iterations())) state.SkipWithError("replies missing");
    state.counters["replies"] = benchmark::Counter(static_cast<double>(replies), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (bytes.size() - handshake_bytes)));
}

void bare_parse(benchmark::State& state) {
    std::vector<std::string> lines;
    std::istringstream in(pipeline().substr(handshake_bytes));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::size_t frames = 0;
    const std::size_t before = allocations;
    for (auto _ : state) {
        for (const auto& line : lines) {
            auto value = nlohmann::json::parse(line, nullptr, false);
            benchmark::DoNotOptimize(value);
            ++frames;
        }
    }
    count_allocations(state, before, frames);
    state.counters["replies"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(client_pipeline);
BENCHMARK(bare_parse);
BENCHMARK_MAIN();
