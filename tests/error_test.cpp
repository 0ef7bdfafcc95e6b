#include "qwire/error.hpp"

#include <set>
#include <string>

#include "testing.hpp"

using qwire::errc;

TEST_CASE("every errc has a distinct name and a message in the qwire category") {
    std::set<std::string_view> names;
    std::set<std::string> messages;
    for (errc code : qwire::all_errc) {
        const std::error_code ec = code;  // implicit: errc is an error code enum
        INFO(qwire::to_string(code));
        CHECK(std::string(ec.category().name()) == "qwire");
        CHECK(ec.value() == static_cast<int>(code));
        CHECK(ec.message() != "unknown qwire error");
        CHECK(qwire::to_string(code) != "unknown");
        CHECK(names.insert(qwire::to_string(code)).second);
        CHECK(messages.insert(ec.message()).second);
        CHECK(ec == code);
    }
}

TEST_CASE("all_errc lists every code the category knows") {
    std::size_t named = 0;
    for (int value = -1; value < 400; ++value) {
        if (qwire::to_string(static_cast<errc>(value)) != "unknown") ++named;
    }
    CHECK(named == std::size(qwire::all_errc));
    CHECK(qwire::make_error_code(static_cast<errc>(999)).message() == "unknown qwire error");
}

TEST_CASE("codes are grouped by who caused them") {
    using qwire::error_source;
    CHECK(qwire::source_of(errc::invalid_state) == error_source::caller);
    CHECK(qwire::source_of(errc::invalid_argument) == error_source::caller);
    CHECK(qwire::source_of(errc::queue_full) == error_source::caller);
    CHECK(qwire::source_of(errc::backlog_full) == error_source::caller);
    CHECK(qwire::source_of(errc::unknown_request) == error_source::caller);
    CHECK(qwire::source_of(errc::not_supported) == error_source::caller);
    CHECK(qwire::source_of(errc::frame_too_large) == error_source::peer);
    CHECK(qwire::source_of(errc::nesting_too_deep) == error_source::peer);
    CHECK(qwire::source_of(errc::malformed_json) == error_source::peer);
    CHECK(qwire::source_of(errc::invalid_utf8) == error_source::peer);
    CHECK(qwire::source_of(errc::unexpected_message) == error_source::peer);
    CHECK(qwire::source_of(errc::unknown_reply_id) == error_source::peer);
    CHECK(qwire::source_of(errc::command_failed) == error_source::peer);
    CHECK(qwire::source_of(errc::connection_lost) == error_source::transport);
    CHECK(qwire::source_of(errc::timed_out) == error_source::transport);
    CHECK(qwire::source_of(errc::cancelled) == error_source::transport);
    CHECK(qwire::source_of(errc::handshake_timed_out) == error_source::transport);
    CHECK(qwire::source_of(errc::closed) == error_source::transport);
    CHECK(qwire::source_of(errc::peer_closed) == error_source::transport);
}

TEST_CASE("fatal and retryable follow from the code") {
    // Caller errors change nothing: never fatal.
    for (errc code : qwire::all_errc) {
        if (qwire::source_of(code) == qwire::error_source::caller) CHECK_FALSE(qwire::is_fatal(code));
    }
    CHECK(qwire::is_fatal(errc::frame_too_large));
    CHECK(qwire::is_fatal(errc::nesting_too_deep));
    CHECK(qwire::is_fatal(errc::malformed_json));
    CHECK(qwire::is_fatal(errc::invalid_utf8));
    CHECK(qwire::is_fatal(errc::unexpected_message));
    CHECK_FALSE(qwire::is_fatal(errc::unknown_reply_id));
    CHECK_FALSE(qwire::is_fatal(errc::command_failed));
    CHECK(qwire::is_fatal(errc::connection_lost));
    CHECK_FALSE(qwire::is_fatal(errc::timed_out));
    CHECK_FALSE(qwire::is_fatal(errc::cancelled));
    CHECK(qwire::is_fatal(errc::handshake_timed_out));
    CHECK(qwire::is_fatal(errc::closed));
    CHECK(qwire::is_fatal(errc::peer_closed));

    CHECK(qwire::is_retryable(errc::queue_full));
    CHECK(qwire::is_retryable(errc::backlog_full));
    CHECK(qwire::is_retryable(errc::connection_lost));
    CHECK(qwire::is_retryable(errc::timed_out));
    CHECK(qwire::is_retryable(errc::handshake_timed_out));
    CHECK(qwire::is_retryable(errc::peer_closed));
    CHECK_FALSE(qwire::is_retryable(errc::invalid_argument));
    CHECK_FALSE(qwire::is_retryable(errc::malformed_json));
    CHECK_FALSE(qwire::is_retryable(errc::cancelled));
    CHECK_FALSE(qwire::is_retryable(errc::closed));
}

TEST_CASE("an error carries its code, detail and root cause") {
    const qwire::error plain(errc::queue_full);
    CHECK(plain.code() == errc::queue_full);
    CHECK(plain.detail().empty());
    CHECK_FALSE(plain.cause());
    CHECK(plain.message() == "command queue is full");
    CHECK(plain.is_retryable());
    CHECK_FALSE(plain.is_fatal());
    CHECK(plain.source() == qwire::error_source::caller);
    CHECK(plain.error_code() == errc::queue_full);

    const qwire::error lost(errc::connection_lost, "reading the socket",
                            std::make_error_code(std::errc::connection_reset));
    CHECK(lost.cause() == std::errc::connection_reset);
    CHECK(lost.message() == "connection lost: reading the socket (cause: " +
                                std::make_error_code(std::errc::connection_reset).message() + ")");
    CHECK(lost.is_fatal());

    const auto failed = qwire::error::from_reply("CommandNotFound", "The command x has not been found");
    CHECK(failed.code() == errc::command_failed);
    CHECK(failed.error_class() == "CommandNotFound");
    CHECK(failed.detail() == "The command x has not been found");
    CHECK(failed.message() == "the command failed: CommandNotFound: The command x has not been found");
    CHECK_FALSE(failed.is_fatal());
    CHECK_FALSE(failed.is_retryable());

    CHECK(qwire::error(errc::timed_out, "x") == qwire::error(errc::timed_out, "x"));
    CHECK_FALSE(qwire::error(errc::timed_out, "x") == qwire::error(errc::timed_out, "y"));
}
