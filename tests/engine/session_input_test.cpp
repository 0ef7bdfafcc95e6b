#include "engine/session_input.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "qwire/framing/json_framer.hpp"
#include "qwire/framing/line_framer.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::engine::feed_frames;
using strings = std::vector<std::string>;

namespace {

// Feeds through feed_frames, recording what comes out; the session "ends" at an error or at a
// frame reading "end".
struct recorder {
    bool open = true;
    strings seen;

    template <class Framer>
    tl::expected<void, qwire::error> feed(Framer& framer, std::string_view bytes) {
        return feed_frames(
            framer, bytes, [this] { return open; },
            [this](std::string_view frame) {
                seen.emplace_back(frame);
                if (frame == "end") open = false;
            },
            [this] { seen.emplace_back("reset"); },
            [this](qwire::error e) {
                seen.push_back("error " + std::string(qwire::to_string(e.code())));
                open = false;
            });
    }
};

}  // namespace

TEST_CASE("session_input: feed_frames hands out frames in order, across feeds") {
    qwire::line_framer framer;
    recorder r;
    REQUIRE(r.feed(framer, "a\nb"));
    REQUIRE(r.feed(framer, "c\n\nd\n"));
    CHECK(r.seen == strings{"a", "bc", "", "d"});
}

TEST_CASE("session_input: feed_frames passes reset bytes and stops at a framing error") {
    qwire::json_framer framer(qwire::json_framer_options{64, 4, std::uint8_t{0xff}});
    recorder r;
    REQUIRE(r.feed(framer, "{\"a\":1}\xff{\"b\":]{\"c\":3}"));
    CHECK(r.seen == strings{"{\"a\":1}", "reset", "error malformed_json"});
}

TEST_CASE("session_input: nothing is handed out once the session is no longer open") {
    qwire::line_framer framer;
    recorder r;
    REQUIRE(r.feed(framer, "a\nend\nb\n"));
    CHECK(r.seen == strings{"a", "end"});
    // The framer was not drained: it refuses more input, and the client refuses before it.
    CHECK(r.feed(framer, "c\n").error().code() == errc::invalid_state);
}

TEST_CASE("session_input: EOF is orderly between frames, a lost connection inside one") {
    CHECK(qwire::engine::eof_reason(false, "line") == qwire::error(errc::peer_closed));
    const auto cut = qwire::engine::eof_reason(true, "line");
    CHECK(cut.code() == errc::connection_lost);
    CHECK(cut.detail() == "the peer closed the connection inside a line");
}

TEST_CASE("session_input: a deadline comes from the deadline, the timeout or the default, with now") {
    using qwire::engine::resolve_deadline;
    const qwire::time_point now = qwire::time_point{} + 100s;
    CHECK(resolve_deadline(now + 1s, 5s, 7s, std::nullopt) == now + 1s);
    CHECK(resolve_deadline(std::nullopt, 5s, 7s, now) == now + 5s);
    CHECK(resolve_deadline(std::nullopt, std::nullopt, 7s, now) == now + 7s);
    CHECK(resolve_deadline(std::nullopt, std::nullopt, std::nullopt, now).value() == std::nullopt);
    CHECK(resolve_deadline(std::nullopt, std::nullopt, std::nullopt, std::nullopt).value() == std::nullopt);
    CHECK(resolve_deadline(std::nullopt, 5s, std::nullopt, std::nullopt).error().code() == errc::invalid_argument);
    CHECK(resolve_deadline(std::nullopt, std::nullopt, 7s, std::nullopt).error().code() == errc::invalid_argument);
}
