#include "qwire/framing/json_framer.hpp"

#include <cstdio>

namespace qwire {
namespace {

// Byte classes, one table per framer because the reset byte is configurable. The scanner's
// inner loops skip bytes whose class lacks the flag their state stops at: most bytes of a
// message are inside strings, where only a quote, a backslash or the reset byte matter.
constexpr std::uint8_t stops_string = 1;     // " and backslash
constexpr std::uint8_t stops_container = 2;  // " { } [ ]
constexpr std::uint8_t scalar_byte = 4;      // may continue a bare number or literal
constexpr std::uint8_t whitespace = 8;       // skipped between values
constexpr std::uint8_t reset_flag = 16;      // the configured reset byte

const unsigned char* bytes_of(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data());
}

bool starts_scalar(unsigned char c) noexcept {
    return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

std::string describe_byte(unsigned char c) {
    char text[40];
    if (c >= 0x20 && c < 0x7f) {
        std::snprintf(text, sizeof text, "'%c' (0x%02x)", c, c);
    } else {
        std::snprintf(text, sizeof text, "0x%02x", c);
    }
    return text;
}

}  // namespace

json_framer::json_framer(json_framer_options options) : options_(options) {
    for (unsigned char c : std::string_view("\"\\")) class_[c] |= stops_string;
    for (unsigned char c : std::string_view("\"{}[]")) class_[c] |= stops_container;
    for (unsigned char c : std::string_view(" \t\r\n")) class_[c] |= whitespace;
    for (unsigned c = 0; c < 256; ++c) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '.' || c == '+' || c == '-') {
            class_[c] |= scalar_byte;
        }
    }
    if (options_.reset_byte) class_[*options_.reset_byte] = stops_string | stops_container | reset_flag;
}

bool json_framer::in_frame() const noexcept {
    return state_ != state::idle && state_ != state::failed;
}

tl::expected<void, error> json_framer::feed(std::string_view bytes) {
    auto drained = framing_detail::check_drained(input_);
    if (drained) input_ = bytes;
    return drained;
}

void json_framer::reset() noexcept {
    state_ = state::idle;
    input_ = {};
    brackets_.clear();
    buffer_.reset();
}

frame_result json_framer::next() {
    switch (state_) {
        case state::failed: return discard_until_reset();
        case state::idle: return start_value();
        default: return continue_value();
    }
}

frame_result json_framer::start_value() {
    const unsigned char* begin = bytes_of(input_);
    const unsigned char* end = begin + input_.size();
    const unsigned char* p = begin;
    while (p < end && (class_[*p] & whitespace)) ++p;
    input_.remove_prefix(static_cast<std::size_t>(p - begin));
    if (p == end) return {};
    const unsigned char c = *p;
    if (class_[c] & reset_flag) return take_reset(0);
    if (c == '{' || c == '[' || c == '"') {
        state_ = state::container;  // with no bracket open yet: scan_bytes() takes the opener
    } else if (starts_scalar(c)) {
        state_ = state::scalar;
    } else {
        return fail(errc::malformed_json, "byte " + describe_byte(c) + " cannot start a JSON value");
    }
    return continue_value();
}

frame_result json_framer::continue_value() {
    const unsigned char* begin = bytes_of(input_);
    const unsigned char* end = begin + input_.size();
    const std::size_t held = buffer_.held();
    const std::size_t room = options_.max_frame_bytes > held ? options_.max_frame_bytes - held : 0;
    const unsigned char* stop = input_.size() > room ? begin + room : end;
    const unsigned char* p = begin;
    scan result = scan_bytes(p, stop);
    const auto offset = static_cast<std::size_t>(p - begin);
    // A bare scalar of exactly the limit ends at the byte just past the limit.
    if (result == scan::incomplete && stop < end && state_ == state::scalar &&
        !(class_[*stop] & scalar_byte)) {
        result = scan::complete;
    }
    switch (result) {
        case scan::complete: {
            const std::string_view frame = buffer_.complete(input_.substr(0, offset));
            input_.remove_prefix(offset);
            state_ = state::idle;
            return {frame_status::frame, frame, std::nullopt};
        }
        case scan::reset: return take_reset(offset);
        case scan::error:
            return fail(scan_error_, (scan_error_ == errc::nesting_too_deep
                                          ? "more than " + std::to_string(options_.max_depth) +
                                                " nested arrays or objects"
                                          : "closing " + describe_byte(*p) + " does not match") +
                                         " at byte " + std::to_string(held + offset) + " of a frame");
        case scan::incomplete: break;
    }
    if (stop < end) {
        return fail(errc::frame_too_large,
                    "a frame is longer than " + std::to_string(options_.max_frame_bytes) + " bytes");
    }
    buffer_.hold(input_);
    input_ = {};
    return {};
}

// Advances p over the current value until it completes (p just past its end), the reset byte
// or a bad bracket appears (p at that byte), or p reaches stop. The state persists between
// calls, so a value may be scanned across any number of inputs.
json_framer::scan json_framer::scan_bytes(const unsigned char*& p, const unsigned char* stop) {
    for (;;) {
        switch (state_) {
            case state::string:
                while (p < stop && !(class_[*p] & stops_string)) ++p;
                if (p == stop) return scan::incomplete;
                if (class_[*p] & reset_flag) return scan::reset;
                state_ = *p == '\\' ? state::escape : state::container;
                ++p;
                if (state_ == state::container && brackets_.empty()) return scan::complete;
                break;
            case state::escape:
                if (p == stop) return scan::incomplete;
                if (class_[*p] & reset_flag) return scan::reset;
                state_ = state::string;
                ++p;
                break;
            case state::container: {
                while (p < stop && !(class_[*p] & stops_container)) ++p;
                if (p == stop) return scan::incomplete;
                const unsigned char c = *p;
                if (class_[c] & reset_flag) return scan::reset;
                if (c == '"') {
                    state_ = state::string;
                } else if (c == '{' || c == '[') {
                    if (brackets_.size() >= options_.max_depth) {
                        scan_error_ = errc::nesting_too_deep;
                        return scan::error;
                    }
                    brackets_.push_back(static_cast<char>(c));
                } else {
                    const char opener = c == '}' ? '{' : '[';
                    if (brackets_.empty() || brackets_.back() != opener) {
                        scan_error_ = errc::malformed_json;
                        return scan::error;
                    }
                    brackets_.pop_back();
                    if (brackets_.empty()) {
                        ++p;
                        return scan::complete;
                    }
                }
                ++p;
                break;
            }
            case state::scalar:
                while (p < stop && (class_[*p] & scalar_byte)) ++p;
                return p == stop ? scan::incomplete : scan::complete;
            case state::idle:
            case state::failed: return scan::error;  // not reached: next() dispatches these
        }
    }
}

frame_result json_framer::discard_until_reset() {
    if (options_.reset_byte) {
        const auto at = input_.find(static_cast<char>(*options_.reset_byte));
        if (at != std::string_view::npos) return take_reset(at);
    }
    input_ = {};
    return {};
}

frame_result json_framer::fail(errc code, std::string detail) {
    state_ = state::failed;
    brackets_.clear();
    buffer_.drop();
    return {frame_status::error, {}, error(code, std::move(detail))};
}

frame_result json_framer::take_reset(std::size_t offset) {
    input_.remove_prefix(offset + 1);
    state_ = state::idle;
    brackets_.clear();
    buffer_.drop();
    return {frame_status::reset, {}, std::nullopt};
}

}  // namespace qwire
