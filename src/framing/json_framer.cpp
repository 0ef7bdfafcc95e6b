#include "qwire/framing/json_framer.hpp"

#include <bit>
#include <cstdio>
#include <utility>

#include "framing/block_classify.hpp"

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

// Bit i set: byte i of a block is escaped, that is preceded by an odd-length run of
// backslashes. `carry` says byte 0 is escaped (the previous block ended in such a run) and is
// set for the next block. A run is counted by adding its first bit to it: the carry ripples to
// the byte after the run. Runs that start on an even bit escape an odd byte when their length
// is odd, and the other way round; one that reaches bit 63 from an odd start escapes byte 0 of
// the next block.
std::uint64_t escaped_bytes(std::uint64_t backslash, bool& carry) noexcept {
    constexpr std::uint64_t even = 0x5555555555555555ULL;
    constexpr std::uint64_t odd = ~even;
    const std::uint64_t first = carry ? 1 : 0;
    const std::uint64_t runs = backslash & ~first;  // an escaped backslash starts no run
    const std::uint64_t starts = runs & ~(runs << 1);
    const std::uint64_t after_even = runs + (starts & even);
    const std::uint64_t after_odd = runs + (starts & odd);
    carry = after_odd < runs;
    return (after_even & ~runs & odd) | (after_odd & ~runs & even) | first;
}

// Bit i set: an odd number of the bits 0..i of x are set.
std::uint64_t prefix_xor(std::uint64_t x) noexcept {
    for (unsigned shift = 1; shift < 64; shift *= 2) x ^= x << shift;
    return x;
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

json_framer::json_framer(json_framer_options options)
    : options_(options), classify_(framing_detail::classifier_for(framing_detail::best_scan_level())) {
    for (unsigned char c : std::string_view("\"\\")) class_[c] |= stops_string;
    for (unsigned char c : std::string_view("\"{}[]")) class_[c] |= stops_container;
    for (unsigned char c : std::string_view(" \t\r\n")) class_[c] |= whitespace;
    for (unsigned c = 0; c < 256; ++c) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '.' || c == '+' || c == '-') {
            class_[c] |= scalar_byte;
        }
    }
    if (options_.reset_byte) {
        class_[*options_.reset_byte] = stops_string | stops_container | reset_flag;
        reset_bits_ = ~std::uint64_t{0};
    }
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
// calls, so a value may be scanned across any number of inputs. Inside a container, whole
// 64-byte blocks go through scan_block(); the opening byte, top-level strings and scalars, and
// the last bytes before stop go one at a time.
json_framer::scan json_framer::scan_bytes(const unsigned char*& p, const unsigned char* stop) {
    if (classify_ == nullptr || state_ == state::scalar) return scan_bytewise(p, stop);
    if (brackets_.empty() && state_ == state::container && p < stop && *p != '"') {  // the opener
        if (const scan result = take_bracket(*p); result != scan::incomplete) return result;
        ++p;
    }
    if (brackets_.empty()) return scan_bytewise(p, stop);  // a top-level string
    while (stop - p >= 64) {
        if (const scan result = scan_block(p); result != scan::incomplete) return result;
    }
    return scan_bytewise(p, stop);
}

// One block of 64 bytes inside a container. Strings are the bytes between unescaped quotes
// (a prefix XOR of the quote bits); the brackets outside them are taken one by one. Escapes
// count only inside strings: a block with a backslash outside a string, or with the reset
// byte, goes one byte at a time instead, so that invalid input frames exactly as before.
json_framer::scan json_framer::scan_block(const unsigned char*& p) {
    const framing_detail::block_masks m = classify_(p, options_.reset_byte.value_or(0));
    bool escape = state_ == state::escape;
    const std::uint64_t escaped = m.backslash == 0 ? std::exchange(escape, false) : escaped_bytes(m.backslash, escape);
    const std::uint64_t in_string = prefix_xor(m.quote & ~escaped) ^ (state_ == state::container ? 0 : ~std::uint64_t{0});
    if ((m.reset & reset_bits_) != 0 || (m.backslash & ~in_string) != 0) return scan_bytewise(p, p + 64);
    for (std::uint64_t brackets = (m.open | m.close) & ~in_string; brackets != 0; brackets &= brackets - 1) {
        const unsigned char* at = p + std::countr_zero(brackets);
        if (const scan result = take_bracket(*at); result != scan::incomplete) {
            p = result == scan::complete ? at + 1 : at;
            return result;
        }
    }
    state_ = (in_string >> 63) == 0 ? state::container : escape ? state::escape : state::string;
    p += 64;
    return scan::incomplete;
}

// A bracket outside strings: complete when it closes the value, error when it does not match
// or nests too deep.
inline json_framer::scan json_framer::take_bracket(unsigned char c) {
    if (c == '{' || c == '[') {
        if (brackets_.size() >= options_.max_depth) {
            scan_error_ = errc::nesting_too_deep;
            return scan::error;
        }
        brackets_.push_back(static_cast<char>(c));
        return scan::incomplete;
    }
    const char opener = c == '}' ? '{' : '[';
    if (brackets_.empty() || brackets_.back() != opener) {
        scan_error_ = errc::malformed_json;
        return scan::error;
    }
    brackets_.pop_back();
    return brackets_.empty() ? scan::complete : scan::incomplete;
}

json_framer::scan json_framer::scan_bytewise(const unsigned char*& p, const unsigned char* stop) {
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
                } else if (const scan result = take_bracket(c); result != scan::incomplete) {
                    if (result == scan::complete) ++p;
                    return result;
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
