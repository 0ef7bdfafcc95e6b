#include "engine/utf8.hpp"

#include <catch2/catch.hpp>

using qwire::engine::is_valid_utf8;

TEST_CASE("utf8: accepts ASCII and well-formed sequences of every length") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii {}[]\"\\"));
    CHECK(is_valid_utf8("\xc3\xa9"));                  // é
    CHECK(is_valid_utf8("\xe2\x82\xac"));              // €
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));          // 😀
    CHECK(is_valid_utf8("\xed\x9f\xbf"));              // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
}

TEST_CASE("utf8: rejects stray, overlong, surrogate, truncated and out-of-range bytes") {
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));            // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xc1\xbf"));
    CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));        // overlong
    CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));    // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));        // U+D800
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // U+110000
    CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));            // truncated
    CHECK_FALSE(is_valid_utf8("a\xc3"));
    CHECK_FALSE(is_valid_utf8("\xe2\x28\xa1"));        // bad continuation
}
