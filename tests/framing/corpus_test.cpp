// The framers against real QEMU 7.2 traffic from ../shared/corpus.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framer_harness.hpp"
#include "qwire/framing/json_framer.hpp"
#include "qwire/framing/line_framer.hpp"

using outcome = std::vector<std::string>;
using qwire::test::pieces;

namespace {

outcome frame_json(const pieces& input) {
    qwire::json_framer framer;
    return qwire::test::drain_pieces(framer, input);
}

// The sizes of the server's reads as recorded in NAME.chunks.json.
std::vector<std::size_t> recorded_reads(const std::string& dir, const std::string& name) {
    const auto text = qwire::test::corpus_file(dir + "/" + name + ".chunks.json");
    std::vector<std::size_t> sizes;
    if (!text) return sizes;
    const auto chunks = nlohmann::json::parse(*text, nullptr, false);
    REQUIRE_FALSE(chunks.is_discarded());
    for (const auto& chunk : chunks.at("chunks")) {
        if (chunk.at(0) == "s2c") sizes.push_back(chunk.at(2).get<std::size_t>());
    }
    return sizes;
}

struct scenario {
    std::string name;
    std::size_t frames;
};

std::vector<scenario> qmp_scenarios() {
    std::vector<scenario> out;
    const auto manifest = qwire::test::corpus_file("qmp/manifest.json");
    if (!manifest) return out;
    for (const auto& entry : nlohmann::json::parse(*manifest)) {
        const auto frames = entry.value("messages", entry.at("s2c_lines").get<std::size_t>());
        out.push_back({entry.at("name").get<std::string>(), frames});
    }
    return out;
}

}  // namespace

TEST_CASE("every recorded QMP stream frames into its messages, however it is cut") {
    const auto scenarios = qmp_scenarios();
    if (scenarios.empty()) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    CHECK(scenarios.size() >= 16);
    for (const auto& s : scenarios) {
        INFO("scenario " << s.name);
        const auto bytes = qwire::test::corpus_file("qmp/" + s.name + ".s2c");
        REQUIRE(bytes);
        const outcome frames = frame_json({*bytes});
        CHECK(frames.size() == s.frames);
        for (const auto& f : frames) {
            REQUIRE(f.rfind("frame:", 0) == 0);
            const auto value = nlohmann::json::parse(f.substr(6), nullptr, false);
            CHECK(value.is_object());
        }
        CHECK(frame_json(qwire::test::cut_every(*bytes, 4096)) == frames);
        const auto reads = recorded_reads("qmp", s.name);
        if (!reads.empty()) CHECK(frame_json(qwire::test::cut_sizes(*bytes, reads)) == frames);
        qwire::test::check_every_split<outcome>(*bytes, frames, frame_json, 512);
    }
}

TEST_CASE("recorded QMP streams re-serialised with indentation frame identically") {
    const auto scenarios = qmp_scenarios();
    if (scenarios.empty()) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    for (const auto& s : scenarios) {
        INFO("scenario " << s.name);
        const outcome frames = frame_json({*qwire::test::corpus_file("qmp/" + s.name + ".s2c")});
        std::string pretty;
        std::vector<nlohmann::json> values;
        for (const auto& f : frames) {
            values.push_back(nlohmann::json::parse(f.substr(6)));
            std::string text = values.back().dump(4);
            // Lines end in CRLF, as QEMU's pretty=on output does.
            for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2)) {
                text.insert(at, 1, '\r');
            }
            pretty += text + "\r\n";
        }
        const outcome pretty_frames = frame_json(qwire::test::cut_every(pretty, 1000));
        REQUIRE(pretty_frames.size() == values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            CHECK(nlohmann::json::parse(pretty_frames[i].substr(6)) == values[i]);
        }
    }
}

TEST_CASE("recorded qtest streams split into their lines") {
    const auto manifest = qwire::test::corpus_file("qtest/manifest.json");
    if (!manifest) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    for (const auto& entry : nlohmann::json::parse(*manifest)) {
        const auto name = entry.at("name").get<std::string>();
        INFO("scenario " << name);
        const auto bytes = qwire::test::corpus_file("qtest/" + name + ".s2c");
        REQUIRE(bytes);
        qwire::line_framer framer;
        const outcome lines = qwire::test::drain_pieces(framer, {*bytes});
        CHECK(lines.size() == static_cast<std::size_t>(std::count(bytes->begin(), bytes->end(), '\n')));
        for (const auto& line : lines) {
            const bool known = line.rfind("frame:OK", 0) == 0 || line.rfind("frame:FAIL", 0) == 0 ||
                               line.rfind("frame:IRQ ", 0) == 0;
            CHECK(known);
        }
        qwire::test::check_every_split<outcome>(*bytes, lines, [](const pieces& p) {
            qwire::line_framer f;
            return qwire::test::drain_pieces(f, p);
        });
    }
}
