// Framer throughput on the largest recorded QMP stream, fed whole and in 4 KiB reads, and the
// line framer on recorded qtest replies. Run: ./run bench (or build/bench/bench_framing).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "qwire/framing/json_framer.hpp"
#include "qwire/framing/line_framer.hpp"

namespace {

// The largest .s2c file of a corpus folder.
std::string largest(const std::string& folder) {
    std::filesystem::path best;
    std::uintmax_t best_size = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::string(QWIRE_CORPUS_DIR) + "/" + folder)) {
        if (entry.path().extension() == ".s2c" && entry.file_size() > best_size) {
            best = entry.path();
            best_size = entry.file_size();
        }
    }
    std::ifstream in(best, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

template <class Framer>
void frame_all(benchmark::State& state, const std::string& bytes, std::size_t piece) {
    std::size_t frames = 0;
    Framer framer;  // one long-lived framer, as on a connection
    for (auto _ : state) {
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            if (!framer.feed(std::string_view(bytes).substr(at, piece))) state.SkipWithError("feed refused");
            for (auto r = framer.next(); r.status != qwire::frame_status::need_more; r = framer.next()) {
                benchmark::DoNotOptimize(r.frame.data());
                ++frames;
            }
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
    state.counters["frames"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}

void json_whole(benchmark::State& state) {
    static const std::string bytes = largest("qmp");
    frame_all<qwire::json_framer>(state, bytes, bytes.size());
}

void json_4k(benchmark::State& state) {
    static const std::string bytes = largest("qmp");
    frame_all<qwire::json_framer>(state, bytes, 4096);
}

void json_pipeline_4k(benchmark::State& state) {
    static const std::string bytes = [] {
        std::ifstream in(std::string(QWIRE_CORPUS_DIR) + "/qmp/17_pipeline_1000.s2c", std::ios::binary);
        std::ostringstream b;
        b << in.rdbuf();
        return std::move(b).str();
    }();
    frame_all<qwire::json_framer>(state, bytes, 4096);
}

void lines_4k(benchmark::State& state) {
    static const std::string bytes = [] {
        std::string one = largest("qtest"), many;
        while (many.size() < (1 << 20)) many += one;
        return many;
    }();
    frame_all<qwire::line_framer>(state, bytes, 4096);
}

}  // namespace

BENCHMARK(json_whole);
BENCHMARK(json_4k);
BENCHMARK(json_pipeline_4k);
BENCHMARK(lines_4k);
BENCHMARK_MAIN();
