#include "qwire/framing/line_framer.hpp"

#include <string>
#include <vector>

#include "framer_harness.hpp"

using qwire::line_framer;
using qwire::line_framer_options;
using outcome = std::vector<std::string>;
using qwire::test::pieces;

namespace {

outcome frame_pieces(const line_framer_options& options, const pieces& input) {
    return qwire::test::frame_pieces<line_framer>(options, input);
}

void check(std::string_view input, const outcome& expected, const line_framer_options& options = {}) {
    qwire::test::check_framer<line_framer>(input, expected, options);
}

}  // namespace

TEST_CASE("line_framer: qtest replies and IRQ lines, terminator removed") {
    check("OK 0x00000000deadbeef\nIRQ raise 8\nOK\nFAIL Unknown command 'x'\nFAIL\n",
          {"frame:OK 0x00000000deadbeef", "frame:IRQ raise 8", "frame:OK",
           "frame:FAIL Unknown command 'x'", "frame:FAIL"});
}

TEST_CASE("line_framer: CR is kept, empty lines are lines, a partial line waits") {
    check("endianness\r\n\nOK", {"frame:endianness\r", "frame:"});
}

TEST_CASE("line_framer: line length limit, one under, at and one over") {
    line_framer_options options;
    options.max_line_bytes = 8;
    check("1234567\n12345678\n", {"frame:1234567", "frame:12345678"}, options);
    check("OK\n123456789\nOK\n", {"frame:OK", "error:frame_too_large"}, options);
    check("123456789", {"error:frame_too_large"}, options);
    check("12345678", {}, options);
}

TEST_CASE("line_framer: the default 1 MiB limit, and nothing buffered past it") {
    constexpr std::size_t limit = 1024 * 1024;
    const std::string at_limit(limit, 'a');
    CHECK(frame_pieces({}, qwire::test::cut_every(at_limit + "\n", 4096)) == outcome{"frame:" + at_limit});
    line_framer framer;
    REQUIRE(framer.feed(at_limit));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    REQUIRE(framer.feed("b"));
    const auto result = framer.next();
    REQUIRE(result.status == qwire::frame_status::error);
    CHECK(result.error->code() == qwire::errc::frame_too_large);
    CHECK(framer.failed());
    CHECK(framer.buffered_bytes() == 0);
    REQUIRE(framer.feed("OK\n"));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    framer.reset();
    REQUIRE(framer.feed("OK\n"));
    CHECK(framer.next().frame == "OK");
}

TEST_CASE("line_framer: feeding before the previous input is drained is refused") {
    line_framer framer;
    REQUIRE(framer.feed("OK\nOK 0x"));
    CHECK(framer.next().frame == "OK");
    const auto refused = framer.feed("12\n");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == qwire::errc::invalid_state);
    CHECK(framer.next().status == qwire::frame_status::need_more);
    CHECK(framer.in_frame());
    REQUIRE(framer.feed("12\n"));
    CHECK(framer.next().frame == "OK 0x12");
}

TEST_CASE("line_framer: whole lines are not copied") {
    line_framer framer;
    const std::string input = "OK\n";
    REQUIRE(framer.feed(input));
    CHECK(framer.next().frame.data() == input.data());
}
