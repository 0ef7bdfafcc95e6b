#include "engine/output_queue.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using qwire::engine::output_queue;

namespace {
std::vector<int> fds_of(const qwire::output_view& v) { return {v.fds.begin(), v.fds.end()}; }
}  // namespace

TEST_CASE("output_queue: bytes come out in order and are consumed by length") {
    output_queue out;
    out.append("{\"execute\":\"a\"}");
    out.append("{\"execute\":\"b\"}");
    CHECK(out.size() == 30);
    CHECK(out.pending().bytes == "{\"execute\":\"a\"}{\"execute\":\"b\"}");
    out.consume(5, [](std::uint64_t) { FAIL("nothing asked to be told"); });
    CHECK(out.pending().bytes == "cute\":\"a\"}{\"execute\":\"b\"}");
    out.consume(100, [](std::uint64_t) {});  // clamped to what is pending
    CHECK(out.size() == 0);
    CHECK(out.pending().bytes.empty());
}

TEST_CASE("output_queue: descriptors ride with the first byte of their message only") {
    output_queue out;
    out.append("AAAA");
    out.append("BBBB", {7, 8});
    out.append("CCCC");
    out.append("DDDD", {9});
    // The first view stops before B's first byte, so its descriptors go with B.
    auto v = out.pending();
    CHECK(v.bytes == "AAAA");
    CHECK(v.fds.empty());
    out.consume(4, [](std::uint64_t) {});
    v = out.pending();
    CHECK(v.bytes == "BBBBCCCC");
    CHECK(fds_of(v) == std::vector<int>{7, 8});
    out.consume(1, [](std::uint64_t) {});  // a short write: the descriptors went with byte one
    v = out.pending();
    CHECK(v.bytes == "BBBCCCC");
    CHECK(v.fds.empty());
    out.consume(7, [](std::uint64_t) {});
    v = out.pending();
    CHECK(v.bytes == "DDDD");
    CHECK(fds_of(v) == std::vector<int>{9});
}

TEST_CASE("output_queue: a message asking to be told is reported once fully written") {
    output_queue out;
    std::vector<std::uint64_t> written;
    auto note = [&](std::uint64_t tag) { written.push_back(tag); };
    out.append("one", {}, 1, true);
    out.append("two", {}, 2, false);
    out.append("three", {}, 3, true);
    out.consume(2, note);
    CHECK(written.empty());
    out.consume(1, note);
    CHECK(written == std::vector<std::uint64_t>{1});
    out.consume(6, note);
    CHECK(written == std::vector<std::uint64_t>{1});
    out.consume(2, note);
    CHECK(written == std::vector<std::uint64_t>{1, 3});
}

TEST_CASE("output_queue: clear drops unwritten bytes and later appends start afresh") {
    output_queue out;
    out.append("abc", {3});
    out.consume(1, [](std::uint64_t) {});
    out.clear();
    CHECK(out.size() == 0);
    out.append("xyz", {4});
    CHECK(out.pending().bytes == "xyz");
    CHECK(fds_of(out.pending()) == std::vector<int>{4});
}

TEST_CASE("output_queue: large volumes compact without losing bytes") {
    output_queue out;
    std::string expected, got;
    for (int i = 0; i < 20000; ++i) {
        const std::string msg = "{\"execute\":\"query-status\",\"id\":" + std::to_string(i) + "}";
        out.append(msg);
        expected += msg;
        if (i % 3 == 0) {
            auto v = out.pending();
            const std::size_t n = v.bytes.size() / 2 + 1;
            got.append(v.bytes.substr(0, n));
            out.consume(n, [](std::uint64_t) {});
        }
    }
    while (out.size() > 0) {
        auto v = out.pending();
        got.append(v.bytes);
        out.consume(v.bytes.size(), [](std::uint64_t) {});
    }
    CHECK(got == expected);
}
