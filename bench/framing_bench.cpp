// Framer bandwidth against the floor a newline splitter could reach: memchr for '\n' over the
// same bytes in the same pieces. Streams: the 1000-reply pipeline (84 KB), a 16 MiB
// concatenation of it, and the 207 KB query-qmp-schema reply; each whole and in 4 KiB reads.
// The json_framer row of each pair uses the block scan the CPU supports; one more row scans the
// pipeline one byte at a time, as the framer did before. Run: ./run bench.
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "framing/block_classify.hpp"
#include "qwire/framing/json_framer.hpp"
#include "qwire/framing/line_framer.hpp"

namespace {

using qwire::framing_detail::scan_level;

std::string corpus(const std::string& name) {
    std::ifstream in(std::string(QWIRE_CORPUS_DIR) + "/" + name, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

const std::string& stream(const std::string& name) {
    static const std::string pipeline = corpus("qmp/17_pipeline_1000.s2c");
    static const std::string schema = corpus("qmp/07_query_qmp_schema.s2c");
    static const std::string big = [] {
        std::string many;
        while (many.size() < (std::size_t{16} << 20)) many += pipeline;
        return many;
    }();
    static const std::string qtest = [] {
        std::string one = corpus("qtest/qt_03_irq_async_running.s2c"), many;
        while (many.size() < (1 << 20)) many += one;
        return many;
    }();
    if (name == "pipeline") return pipeline;
    if (name == "schema") return schema;
    if (name == "pipeline_16MiB") return big;
    return qtest;
}

void finish(benchmark::State& state, std::size_t bytes, std::size_t frames) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["frames"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
}

template <class Framer>
void frame_all(benchmark::State& state, Framer& framer, const std::string& bytes, std::size_t piece) {
    std::size_t frames = 0;
    for (auto _ : state) {
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            if (!framer.feed(std::string_view(bytes).substr(at, piece))) state.SkipWithError("feed refused");
            for (auto r = framer.next(); r.status != qwire::frame_status::need_more; r = framer.next()) {
                benchmark::DoNotOptimize(r.frame.data());
                ++frames;
            }
        }
    }
    finish(state, bytes.size(), frames);
}

// One long-lived framer, as on a connection.
void json_framer(benchmark::State& state, const std::string& name, std::size_t piece, scan_level level) {
    const std::string& bytes = stream(name);
    qwire::json_framer framer;
    qwire::framing_detail::framer_access::use(framer, level);
    frame_all(state, framer, bytes, piece == 0 ? bytes.size() : piece);
}

// The newline splitter's floor: find every '\n' in each piece, copy nothing.
void memchr_lines(benchmark::State& state, const std::string& name, std::size_t piece) {
    const std::string& bytes = stream(name);
    if (piece == 0) piece = bytes.size();
    std::size_t frames = 0;
    for (auto _ : state) {
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            const char* p = bytes.data() + at;
            const char* end = p + std::min(piece, bytes.size() - at);
            while (const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
                p = static_cast<const char*>(nl) + 1;
                ++frames;
            }
            benchmark::DoNotOptimize(p);
        }
    }
    finish(state, bytes.size(), frames);
}

void line_framer(benchmark::State& state) {
    qwire::line_framer framer;
    frame_all(state, framer, stream("qtest"), 4096);
}

void register_all() {
    const scan_level best = qwire::framing_detail::best_scan_level();
    for (const char* name : {"pipeline", "pipeline_16MiB", "schema"}) {
        for (std::size_t piece : {std::size_t{0}, std::size_t{4096}}) {
            const std::string suffix = std::string(name) + (piece == 0 ? "/whole" : "/4KiB");
            benchmark::RegisterBenchmark(("json_framer/" + suffix).c_str(), json_framer, name, piece, best);
            benchmark::RegisterBenchmark(("memchr_lines/" + suffix).c_str(), memchr_lines, name, piece);
        }
    }
    benchmark::RegisterBenchmark("json_framer_bytewise/pipeline/whole", json_framer, "pipeline", 0,
                                 scan_level::bytewise);
    benchmark::RegisterBenchmark("line_framer/qtest/4KiB", line_framer);
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
