// Test support shared by every qwire test program: skipping, the recorded corpus, and
// checking a scenario whole, byte by byte and at every two-piece split.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "qwire/qmp/schema.hpp"

namespace qwire::test {

/// Marks the running test case skipped and returns true, unless the environment variable CI is
/// set: then a skip is a failure (integration tests must run in CI) and it returns true too.
bool skip(const std::string& reason);

/// Skips the current test case with a reason (fails instead when CI is set).
#define QWIRE_SKIP(reason)                            \
    do {                                              \
        if (::qwire::test::skip(reason)) return;      \
    } while (false)

/// The corpus folder (the meson option corpus_dir).
std::string corpus_dir();

/// Bytes of a corpus file, e.g. "qmp/01_greeting.s2c"; nullopt when the corpus is missing.
std::optional<std::string> corpus_file(const std::string& relative);

/// The query-qmp-schema reply QEMU 7.2 (-machine none) sent in the corpus
/// (qmp/07_query_qmp_schema), as the line it sent; nullopt when the corpus is missing.
std::optional<std::string> corpus_schema_reply();

/// That reply as a schema, or null when the corpus is missing.
std::shared_ptr<const qmp::schema> corpus_schema();

/// Reads a whole file; fails the test if it cannot.
std::string read_file(const std::string& path);

using pieces = std::vector<std::string_view>;

/// The input in pieces of at most `size` bytes.
pieces cut_every(std::string_view input, std::size_t size);

/// The input cut in two at `at`.
pieces cut_at(std::string_view input, std::size_t at);

/// The input cut into consecutive pieces of the given sizes (the last takes the rest).
pieces cut_sizes(std::string_view input, const std::vector<std::size_t>& sizes);

/// Runs `run` on the input whole, byte by byte, and cut in two at every position (or, for
/// inputs longer than `all_splits_up_to`, at that many positions spread evenly plus the first
/// and last 64), and checks that every run gives `expected`.
template <class Outcome>
void check_every_split(std::string_view input, const Outcome& expected,
                       const std::function<Outcome(const pieces&)>& run,
                       std::size_t all_splits_up_to = 4096) {
    {
        INFO("input whole");
        CHECK(run(pieces{input}) == expected);
    }
    {
        INFO("input byte by byte");
        CHECK(run(cut_every(input, 1)) == expected);
    }
    std::vector<std::size_t> cuts;
    if (input.size() <= all_splits_up_to) {
        for (std::size_t at = 1; at < input.size(); ++at) cuts.push_back(at);
    } else {
        for (std::size_t at = 1; at < 64; ++at) cuts.push_back(at);
        for (std::size_t at = input.size() - 64; at < input.size(); ++at) cuts.push_back(at);
        for (std::size_t k = 1; k < all_splits_up_to; ++k) cuts.push_back(input.size() * k / all_splits_up_to);
    }
    std::size_t mismatches = 0;
    for (std::size_t at : cuts) {
        if (run(cut_at(input, at)) != expected) {
            if (++mismatches <= 3) {
                INFO("input cut in two at byte " << at);
                CHECK(run(cut_at(input, at)) == expected);
            }
        }
    }
    INFO("two-piece splits that gave a different outcome");
    CHECK(mismatches == 0);
}

}  // namespace qwire::test
