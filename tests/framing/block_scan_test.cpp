// The json_framer's block scan (portable, SSE2 and AVX2 classifiers, whichever this CPU has)
// against its byte-at-a-time scan: same frames, resets and errors, whole, byte by byte and at
// every two-piece split, on inputs built to stress 64-byte block boundaries.
#include <random>
#include <string>
#include <vector>

#include "framer_harness.hpp"
#include "framing/block_classify.hpp"
#include "qwire/framing/json_framer.hpp"

using qwire::json_framer;
using qwire::json_framer_options;
using qwire::framing_detail::scan_level;
using outcome = std::vector<std::string>;
using qwire::test::pieces;

namespace {

outcome frame_at(scan_level level, const json_framer_options& options, const pieces& input) {
    json_framer framer(options);
    qwire::framing_detail::framer_access::use(framer, level);
    return qwire::test::drain_pieces(framer, input);
}

std::vector<scan_level> block_levels() {
    std::vector<scan_level> levels;
    for (scan_level level : {scan_level::portable, scan_level::sse2, scan_level::avx2}) {
        if (qwire::framing_detail::cpu_supports(level)) levels.push_back(level);
    }
    return levels;
}

// Every block level gives what the bytewise scan gives on the whole input, at every split.
void check_same(std::string_view input, const json_framer_options& options = {}) {
    const outcome expected = frame_at(scan_level::bytewise, options, pieces{input});
    for (scan_level level : block_levels()) {
        INFO("level " << static_cast<int>(level) << ", input " << input.size() << " bytes");
        qwire::test::check_every_split<outcome>(
            input, expected, [&](const pieces& p) { return frame_at(level, options, p); });
    }
}

json_framer_options with_reset() {
    json_framer_options options;
    options.reset_byte = 0xFF;
    return options;
}

}  // namespace

TEST_CASE("block scan: the best level is one the CPU supports") {
    CHECK(qwire::framing_detail::cpu_supports(qwire::framing_detail::best_scan_level()));
}

TEST_CASE("block scan: backslash runs and quotes at every offset of a block") {
    for (std::size_t pad = 0; pad < 70; ++pad) {
        for (std::size_t run = 0; run < 6; ++run) {
            const std::string text = std::string(pad, 'x') + std::string(run, '\\') + "\"}]{[";
            // Inside a string the run escapes the quote when odd; the framer sees both cases.
            const std::string input = "{\"s\":[\"" + text + "\"],\"t\":\"" + text + "\"}\r\n[" + text + "]";
            check_same(input);
            check_same(input, with_reset());
        }
    }
}

TEST_CASE("block scan: long strings, deep nesting and limits across blocks") {
    std::string nested;
    for (int i = 0; i < 100; ++i) nested += i % 2 ? "[" : "{\"k\":";
    std::string closing;
    for (int i = 99; i >= 0; --i) closing += i % 2 ? "]" : "}";
    check_same(nested + "0" + closing);
    json_framer_options shallow;
    shallow.max_depth = 40;
    check_same(nested + "0" + closing, shallow);
    json_framer_options small;
    small.max_frame_bytes = 150;
    check_same("{\"a\":\"" + std::string(140, 'y') + "\"} {\"b\":\"" + std::string(150, 'z') + "\"}", small);
    check_same("{\"a\":[" + std::string(200, ' ') + "}]", {});  // mismatch after whitespace blocks
}

TEST_CASE("block scan: the reset byte inside strings, escapes and containers") {
    const std::string body = "{\"a\":\"" + std::string(61, 'q') + "\\";
    check_same(body + "\xff{\"b\":1}", with_reset());
    check_same(body + "\"\xff\"}{\"c\":[" + std::string(70, ' ') + "\xff]}{}", with_reset());
    check_same(body + "\xff", {});  // no reset byte configured: 0xFF is a plain byte
}

TEST_CASE("block scan: random bytes heavy in structure") {
    // Invalid JSON too: backslashes outside strings, stray closers, 0xFF, NUL.
    const std::string alphabet = std::string("\"\"\\\\{}[]  ab:,1\xff\r\n", 18) + std::string(1, '\0');
    std::mt19937 random(11);  // fixed: the same inputs every run
    for (int round = 0; round < 150; ++round) {
        std::string input = "{\"";
        const std::size_t length = 60 + random() % 200;
        for (std::size_t i = 0; i < length; ++i) input += alphabet[random() % alphabet.size()];
        json_framer_options options = round % 3 == 0 ? with_reset() : json_framer_options{};
        if (round % 5 == 0) options.max_depth = 3;
        if (round % 7 == 0) options.max_frame_bytes = 90;
        check_same(input, options);
    }
}

TEST_CASE("block scan: recorded QEMU streams") {
    for (const char* name : {"qmp/17_pipeline_1000.s2c", "qmp/06_query_commands.s2c", "qmp/60_pretty_session.s2c"}) {
        const auto bytes = qwire::test::corpus_file(name);
        if (!bytes) QWIRE_SKIP(std::string("the corpus is missing: ") + name);
        INFO(name);
        const outcome expected = frame_at(scan_level::bytewise, {}, pieces{*bytes});
        for (scan_level level : block_levels()) {
            for (std::size_t piece : {std::size_t{1000}, std::size_t{4096}, bytes->size()}) {
                CHECK(frame_at(level, {}, qwire::test::cut_every(*bytes, piece)) == expected);
            }
        }
    }
}
