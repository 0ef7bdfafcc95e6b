#include "qwire/framing/json_framer.hpp"

#include <string>
#include <vector>

#include "framer_harness.hpp"

using qwire::json_framer;
using qwire::json_framer_options;
using outcome = std::vector<std::string>;
using qwire::test::pieces;

namespace {

outcome frame_pieces(const json_framer_options& options, const pieces& input) {
    return qwire::test::frame_pieces<json_framer>(options, input);
}

void check(std::string_view input, const outcome& expected, const json_framer_options& options = {}) {
    qwire::test::check_framer<json_framer>(input, expected, options);
}

json_framer_options with_reset() {
    json_framer_options options;
    options.reset_byte = 0xFF;
    return options;
}

}  // namespace

TEST_CASE("json_framer: QMP lines ending in CRLF") {
    check("{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n{\"return\": {}}\r\n",
          {"frame:{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}", "frame:{\"return\": {}}"});
}

TEST_CASE("json_framer: LF lines, no separator, and whitespace between values") {
    check("{\"a\":1}\n{\"b\":[2,3]}{}[]\t \r\n [4 , {\"c\" : null}]\n\n",
          {"frame:{\"a\":1}", "frame:{\"b\":[2,3]}", "frame:{}", "frame:[]", "frame:[4 , {\"c\" : null}]"});
}

TEST_CASE("json_framer: a value spread over many lines (pretty=on)") {
    check("{\r\n    \"return\": {\r\n        \"running\": false\r\n    }\r\n}\r\n{\r\n}\r\n",
          {"frame:{\r\n    \"return\": {\r\n        \"running\": false\r\n    }\r\n}", "frame:{\r\n}"});
}

TEST_CASE("json_framer: strings hide structure, escapes hide quotes") {
    // A string holding \", \\, braces, brackets and raw newlines.
    const std::string value = R"({"s":"a\"}{b\\","t":"x)" "\n" R"(y{[]}\\\"\r)" "\r\n" R"("})";
    check(value + "\n" + value, {"frame:" + value, "frame:" + value});
    // An escaped backslash right before the closing quote ends the string.
    check(R"({"a":"\\"}{"b":"\\\\"})", {R"(frame:{"a":"\\"})", R"(frame:{"b":"\\\\"})"});
    // \u escapes are plain bytes to the framer.
    check(R"(["\u007d\u005d"])", {R"(frame:["\u007d\u005d"])"});
}

TEST_CASE("json_framer: top-level strings and scalars") {
    check(R"("ab\"}" "c")", {R"(frame:"ab\"}")", R"(frame:"c")"});
    check("42 true\nnull -1.5e+3\r\nfalse{\"a\":1}7[8]", {"frame:42", "frame:true", "frame:null",
                                                        "frame:-1.5e+3", "frame:false",
                                                        "frame:{\"a\":1}", "frame:7", "frame:[8]"});
    // A bare scalar ends only when the byte after it arrives.
    check("123", {});
}

TEST_CASE("json_framer: a byte that cannot start a value is an error after earlier frames") {
    check("{\"a\":1}\r\nx{\"b\":2}\r\n", {"frame:{\"a\":1}", "error:malformed_json"});
    check("}", {"error:malformed_json"});
    check("]{}", {"error:malformed_json"});
    check(",{}", {"error:malformed_json"});
    check("\xff{}", {"error:malformed_json"});  // 0xFF with no reset byte configured
    check(std::string_view("\x00{}", 3), {"error:malformed_json"});
}

TEST_CASE("json_framer: mismatched brackets are malformed") {
    check("{\"a\":[1}", {"error:malformed_json"});
    check("[{]", {"error:malformed_json"});
    check("[1]]", {"frame:[1]", "error:malformed_json"});
}

TEST_CASE("json_framer: nesting depth limit") {
    SECTION("exactly the default limit of 1024") {
        const std::string value = std::string(1024, '[') + std::string(1024, ']');
        check(value, {"frame:" + value});
    }
    SECTION("one over the default limit") {
        check(std::string(1025, '[') + std::string(1025, ']'), {"error:nesting_too_deep"});
    }
    SECTION("2000 nested [") {
        check(std::string(2000, '['), {"error:nesting_too_deep"});
    }
    SECTION("a small limit counts objects and arrays") {
        json_framer_options options;
        options.max_depth = 3;
        check(R"({"a":[{}]})", {R"(frame:{"a":[{}]})"}, options);
        check(R"({"a":[{"b":[]}]})", {"error:nesting_too_deep"}, options);
        check(R"(["[[[[","{{{{"])", {R"(frame:["[[[[","{{{{"])"}, options);  // brackets in strings
    }
}

TEST_CASE("json_framer: frame byte limit, one under, at and one over") {
    json_framer_options options;
    options.max_frame_bytes = 16;
    const std::string under = R"({"a":"01234567"})";  // 16 bytes
    REQUIRE(under.size() == 16);
    check(R"({"a":"0123456"})", {R"(frame:{"a":"0123456"})"}, options);
    check(under + "\r\n" + under, {"frame:" + under, "frame:" + under}, options);
    check(R"({"a":"012345678"})" "\r\n{}", {"error:frame_too_large"}, options);
    check(under + R"({"a":"012345678"})", {"frame:" + under, "error:frame_too_large"}, options);
    // Whitespace between values does not count; a scalar of exactly the limit is fine.
    check("  \r\n 1234567890123456 ", {"frame:1234567890123456"}, options);
    check("12345678901234567 ", {"error:frame_too_large"}, options);
}

TEST_CASE("json_framer: the default 10 MiB limit fails at the first byte over it") {
    constexpr std::size_t limit = 10 * 1024 * 1024;
    const std::string at_limit = "[\"" + std::string(limit - 4, 'x') + "\"]";
    REQUIRE(at_limit.size() == limit);
    const outcome ok = {"frame:" + at_limit};
    CHECK(frame_pieces({}, {at_limit}) == ok);
    CHECK(frame_pieces({}, qwire::test::cut_every(at_limit, 4096)) == ok);

    const std::string under = "[\"" + std::string(limit - 5, 'x') + "\"]";
    CHECK(frame_pieces({}, qwire::test::cut_every(under, 65536)) == outcome{"frame:" + under});

    json_framer framer;
    const std::string body(limit - 1, ' ');
    REQUIRE(framer.feed("[\""));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    REQUIRE(framer.feed(std::string_view(body).substr(0, limit - 2)));  // exactly at the limit
    CHECK(framer.next().status == qwire::frame_status::need_more);
    CHECK(framer.buffered_bytes() == limit);
    REQUIRE(framer.feed("x"));  // one byte over
    const auto result = framer.next();
    REQUIRE(result.status == qwire::frame_status::error);
    CHECK(result.error->code() == qwire::errc::frame_too_large);
    CHECK(framer.failed());
    CHECK(framer.next().status == qwire::frame_status::need_more);
    // The rest of the oversized frame is never buffered.
    CHECK(framer.buffered_bytes() == 0);
    REQUIRE(framer.feed(body));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    CHECK(framer.buffered_bytes() == 0);
}

TEST_CASE("json_framer: the reset byte discards a partial frame and is reported") {
    check("{\"a\":1}\r\n{\"partial\xff{\"b\":2}\n", {"frame:{\"a\":1}", "reset", "frame:{\"b\":2}"},
          with_reset());
    check("\xff\xff{}", {"reset", "reset", "frame:{}"}, with_reset());
    check("{\"s\":\"\\\xff{}", {"reset", "frame:{}"}, with_reset());  // right after a backslash
    check("[[[\xff" "7 ", {"reset", "frame:7"}, with_reset());
    // It ends a bare scalar, which is then complete.
    check("12\xff", {"frame:12", "reset"}, with_reset());
    // It recovers a failed framer.
    check("{}x{\"lost\":1}\xff{\"b\":2}", {"frame:{}", "error:malformed_json", "reset", "frame:{\"b\":2}"},
          with_reset());
    // Without a reset byte, 0xFF inside a string is just a byte.
    check("[\"\xff\"]", {"frame:[\"\xff\"]"});
}

TEST_CASE("json_framer: after an error, input is discarded until reset()") {
    json_framer framer;
    REQUIRE(framer.feed("{}x{}"));
    CHECK(framer.next().status == qwire::frame_status::frame);
    CHECK(framer.next().status == qwire::frame_status::error);
    CHECK(framer.failed());
    CHECK(framer.next().status == qwire::frame_status::need_more);
    REQUIRE(framer.feed("{}"));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    framer.reset();
    CHECK_FALSE(framer.failed());
    REQUIRE(framer.feed("{}"));
    CHECK(framer.next().frame == "{}");
}

TEST_CASE("json_framer: feeding before the previous input is drained is refused") {
    json_framer framer;
    REQUIRE(framer.feed("{}{\"a\":"));
    CHECK(framer.next().frame == "{}");
    const auto refused = framer.feed("1}");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == qwire::errc::invalid_state);
    // State unchanged: draining then feeding goes on as if nothing happened.
    CHECK(framer.next().status == qwire::frame_status::need_more);
    CHECK(framer.in_frame());
    CHECK(framer.buffered_bytes() == 5);
    REQUIRE(framer.feed("1}"));
    CHECK(framer.next().frame == "{\"a\":1}");
    CHECK_FALSE(framer.in_frame());
}

TEST_CASE("json_framer: whole frames are not copied, split ones are") {
    json_framer framer;
    const std::string input = "{\"a\":1}\r\n{\"b\":";
    REQUIRE(framer.feed(input));
    const auto whole = framer.next();
    CHECK(whole.frame.data() == input.data());
    CHECK(framer.next().status == qwire::frame_status::need_more);
    const std::string rest = "2}";
    REQUIRE(framer.feed(rest));
    const auto joined = framer.next();
    CHECK(joined.frame == "{\"b\":2}");
    CHECK(joined.frame.data() != input.data() + 9);
    CHECK(joined.frame.data() != rest.data());
}

TEST_CASE("json_framer: reset() drops partial input and a failure") {
    json_framer framer;
    REQUIRE(framer.feed("{\"a\":[1,"));
    CHECK(framer.next().status == qwire::frame_status::need_more);
    CHECK(framer.in_frame());
    framer.reset();
    CHECK_FALSE(framer.in_frame());
    CHECK(framer.buffered_bytes() == 0);
    REQUIRE(framer.feed("[2]"));
    CHECK(framer.next().frame == "[2]");
}
