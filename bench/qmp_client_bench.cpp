// The QMP client on 17_pipeline_1000 (1000 query-status replies) replayed in memory, next to a
// bare nlohmann::json::parse of the same lines, pre-split: the floor any JSON-based client pays.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwire/qmp/client.hpp"

namespace {

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
    if (replies != 1000 * static_cast<std::size_t>(state.iterations())) state.SkipWithError("replies missing");
    state.counters["replies"] = benchmark::Counter(static_cast<double>(replies), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * (bytes.size() - handshake_bytes)));
}

void bare_parse(benchmark::State& state) {
    std::vector<std::string> lines;
    std::istringstream in(pipeline().substr(handshake_bytes));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::size_t frames = 0;
    for (auto _ : state) {
        for (const auto& line : lines) {
            auto value = nlohmann::json::parse(line, nullptr, false);
            benchmark::DoNotOptimize(value);
            ++frames;
        }
    }
    state.counters["frames"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(client_pipeline);
BENCHMARK(bare_parse);
BENCHMARK_MAIN();
