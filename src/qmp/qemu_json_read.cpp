// QEMU's JSON dialect, the reading half (the writer is in qemu_json_write.cpp); see the header. The rules below were described from QEMU 7.2's
// qobject/json-*.c, qobject/qdict.c, util/unicode.c and GLib 2.74's ghash.c, and checked
// byte for byte against a running QEMU 7.2 (the hostile-input tests hold those recordings).
#include "qmp/qemu_json.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "qmp/schema_model.hpp"

namespace qwire::qmp::qemu {

namespace {

// Appends a code point as UTF-8 (U+0000 as a 0 byte, the nlohmann way).
void append_utf8(std::string& out, long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Four hex digits at text[i], or -1 (also when the text ends first).
long four_hex(const std::string& text, std::size_t i) {
    long cp = 0;
    for (std::size_t k = 0; k < 4; ++k) {
        if (i + k >= text.size()) return -1;
        const int h = hex_value(text[i + k]);
        if (h < 0) return -1;
        cp = (cp << 4) | h;
    }
    return cp;
}

// The C string QEMU would print with %s: up to the first NUL.
std::string_view c_string(std::string_view s) { return s.substr(0, s.find('\0')); }

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

}  // namespace

// --- reader: lexer ---------------------------------------------------------------------------

reader::reader(reader_limits limits) : limits_(limits) {}

void reader::feed(std::string_view bytes) {
    if (consumed_ > 0 && consumed_ >= input_.size() / 2) {
        input_.erase(0, consumed_);
        consumed_ = 0;
    }
    input_.append(bytes);
}

bool reader::in_message() const noexcept {
    if (!tokens_.empty() || !token_text_.empty() || (state_ != state::start && state_ != state::recovery)) return true;
    // Bytes fed but not read yet (the server stopped reading) count too, unless blank.
    return std::string_view(input_).substr(consumed_).find_first_not_of(" \t\r\n") != std::string_view::npos;
}

void reader::reset() {
    input_.clear();
    consumed_ = 0;
    state_ = state::start;
    token_text_.clear();
    ready_.clear();
    reset_message();
}

std::optional<message> reader::next() {
    while (ready_.empty() && consumed_ < input_.size()) {
        feed_char(static_cast<unsigned char>(input_[consumed_++]));
    }
    if (consumed_ == input_.size()) {
        input_.clear();
        consumed_ = 0;
    }
    if (ready_.empty()) return std::nullopt;
    message m = std::move(ready_.front());
    ready_.pop_front();
    return m;
}

// One byte through QEMU's lexer table. A transition either consumes the byte (appending it to
// the token) or looks ahead (ends the token and sees the byte again from the start state).
void reader::feed_char(unsigned char ch) {
    enum class act : std::uint8_t { go, emit, emit_lookahead, error, start_lookahead };
    for (;;) {
        act a = act::error;
        state to = state_;
        token_type type = token_type::error;
        auto go = [&](state s) {
            a = act::go;
            to = s;
        };
        auto terminal = [&](token_type t) {
            a = act::emit_lookahead;
            type = t;
        };
        switch (state_) {
            case state::recovery:
                // Skip to a structural character, a control character but tab, or 0xFE/0xFF.
                if ((ch < 0x20 && ch != '\t') || ch >= 0xFE || ch == '[' || ch == ']' || ch == '{' || ch == '}' ||
                    ch == ':' || ch == ',') {
                    a = act::start_lookahead;
                } else {
                    go(state::recovery);
                }
                break;
            case state::dq_escape:
            case state::sq_escape:
                if (ch >= 0x20 && ch <= 0xFD) go(state_ == state::dq_escape ? state::dq_string : state::sq_string);
                break;
            case state::dq_string:
            case state::sq_string: {
                const bool dq = state_ == state::dq_string;
                if (ch == '\\') {
                    go(dq ? state::dq_escape : state::sq_escape);
                } else if (ch == (dq ? '"' : '\'')) {
                    a = act::emit;
                    type = token_type::string;
                } else if (ch >= 0x20 && ch <= 0xFD) {
                    go(state_);
                }
                break;
            }
            case state::zero:
                if (is_digit(ch)) break;  // error: a leading zero
                if (ch == '.') go(state::mantissa);
                else terminal(token_type::integer);
                break;
            case state::sign:
                if (ch == '0') go(state::zero);
                else if (ch >= '1' && ch <= '9') go(state::digits);
                break;
            case state::digits:
                if (is_digit(ch)) go(state::digits);
                else if (ch == 'e' || ch == 'E') go(state::exp_e);
                else if (ch == '.') go(state::mantissa);
                else terminal(token_type::integer);
                break;
            case state::mantissa:
                if (is_digit(ch)) go(state::mantissa_digits);
                break;
            case state::mantissa_digits:
                if (is_digit(ch)) go(state::mantissa_digits);
                else if (ch == 'e' || ch == 'E') go(state::exp_e);
                else terminal(token_type::floating);
                break;
            case state::exp_e:
                if (ch == '-' || ch == '+') go(state::exp_sign);
                else if (is_digit(ch)) go(state::exp_digits);
                break;
            case state::exp_sign:
                if (is_digit(ch)) go(state::exp_digits);
                break;
            case state::exp_digits:
                if (is_digit(ch)) go(state::exp_digits);
                else terminal(token_type::floating);
                break;
            case state::keyword:
                if (ch >= 'a' && ch <= 'z') go(state::keyword);
                else terminal(token_type::keyword);
                break;
            case state::start:
                switch (ch) {
                    case '"': go(state::dq_string); break;
                    case '\'': go(state::sq_string); break;
                    case '0': go(state::zero); break;
                    case '-': go(state::sign); break;
                    case '{': a = act::emit; type = token_type::lcurly; break;
                    case '}': a = act::emit; type = token_type::rcurly; break;
                    case '[': a = act::emit; type = token_type::lsquare; break;
                    case ']': a = act::emit; type = token_type::rsquare; break;
                    case ',': a = act::emit; type = token_type::comma; break;
                    case ':': a = act::emit; type = token_type::colon; break;
                    case ' ': case '\t': case '\r': case '\n': go(state::start); break;
                    default:
                        if (ch >= '1' && ch <= '9') go(state::digits);
                        else if (ch >= 'a' && ch <= 'z') go(state::keyword);
                        break;
                }
                break;
        }

        switch (a) {
            case act::go:
                if (to == state::start || to == state::recovery) {
                    token_text_.clear();  // whitespace, or a skipped byte
                } else {
                    token_text_ += static_cast<char>(ch);
                }
                state_ = to;
                break;
            case act::emit:
                token_text_ += static_cast<char>(ch);
                process_token(type);
                token_text_.clear();
                state_ = state::start;
                break;
            case act::emit_lookahead:
                process_token(type);
                token_text_.clear();
                state_ = state::start;
                continue;  // the byte again, from the start state
            case act::error:
                token_text_ += static_cast<char>(ch);
                process_token(token_type::error);
                token_text_.clear();
                state_ = state::recovery;
                break;
            case act::start_lookahead:
                token_text_.clear();
                state_ = state::start;
                continue;
        }
        break;
    }
    // QEMU does not let one token grow without bound: it hands the partial token on (the
    // streamer then reports the size limit) and starts afresh.
    if (token_text_.size() > limits_.max_token_bytes) {
        emit(message{std::nullopt, "JSON token size limit exceeded", errc::frame_too_large});
        token_text_.clear();
        state_ = state::start;
    }
}

// --- reader: streamer ------------------------------------------------------------------------

void reader::reset_message() {
    tokens_.clear();
    token_bytes_ = 0;
    brace_count_ = 0;
    bracket_count_ = 0;
}

void reader::emit(message m) {
    reset_message();
    ready_.push_back(std::move(m));
}

void reader::process_token(token_type type) {
    switch (type) {
        case token_type::lcurly: ++brace_count_; break;
        case token_type::rcurly: --brace_count_; break;
        case token_type::lsquare: ++bracket_count_; break;
        case token_type::rsquare: --bracket_count_; break;
        case token_type::error:
            return emit(message{std::nullopt, "JSON parse error, stray '" + std::string(c_string(token_text_)) + "'",
                                errc::malformed_json});
        default: break;
    }
    if (token_bytes_ + token_text_.size() + 1 > limits_.max_token_bytes) {
        return emit(message{std::nullopt, "JSON token size limit exceeded", errc::frame_too_large});
    }
    if (tokens_.size() + 1 > limits_.max_tokens) {
        return emit(message{std::nullopt, "JSON token count limit exceeded", errc::frame_too_large});
    }
    if (bracket_count_ + brace_count_ > static_cast<long>(limits_.max_depth)) {
        return emit(message{std::nullopt, "JSON nesting depth limit exceeded", errc::nesting_too_deep});
    }
    tokens_.push_back(token{type, token_text_});
    token_bytes_ += token_text_.size();
    if ((brace_count_ > 0 || bracket_count_ > 0) && brace_count_ >= 0 && bracket_count_ >= 0) return;

    pos_ = 0;
    parse_error_.reset();
    std::optional<ordered_json> value = parse_value();
    if (parse_error_) return emit(message{std::nullopt, std::move(*parse_error_), errc::malformed_json});
    emit(message{std::move(value), {}, errc::malformed_json});
}

// --- reader: parser --------------------------------------------------------------------------

void reader::parse_error(std::string what) {
    if (!parse_error_) parse_error_ = "JSON parse error, " + std::move(what);
}

std::optional<ordered_json> reader::parse_value() {
    if (pos_ >= tokens_.size()) {
        parse_error("premature EOI");
        return std::nullopt;
    }
    switch (tokens_[pos_].type) {
        case token_type::lcurly: return parse_object();
        case token_type::lsquare: return parse_array();
        case token_type::integer:
        case token_type::floating:
        case token_type::string: return parse_literal();
        case token_type::keyword: {
            const std::string& word = tokens_[pos_++].text;
            if (word == "true") return ordered_json(true);
            if (word == "false") return ordered_json(false);
            if (word == "null") return ordered_json(nullptr);
            parse_error("invalid keyword '" + word + "'");
            return std::nullopt;
        }
        default:
            parse_error("expecting value");
            return std::nullopt;
    }
}

std::optional<ordered_json> reader::parse_object() {
    ++pos_;  // {
    ordered_json object = ordered_json::object();
    auto& members = object.get_ref<ordered_json::object_t&>();
    std::set<std::string> seen;  // for duplicate keys in O(log n)
    if (pos_ >= tokens_.size()) {
        parse_error("premature EOI");
        return std::nullopt;
    }
    if (tokens_[pos_].type == token_type::rcurly) {
        ++pos_;
        return object;
    }
    for (;;) {
        // a pair
        if (pos_ >= tokens_.size()) {
            parse_error("premature EOI");
            return std::nullopt;
        }
        std::optional<ordered_json> key = parse_value();
        if (!key || !key->is_string()) {
            parse_error("key is not a string in object");
            return std::nullopt;
        }
        if (pos_ >= tokens_.size()) {
            parse_error("premature EOI");
            return std::nullopt;
        }
        if (tokens_[pos_++].type != token_type::colon) {
            parse_error("missing : in object pair");
            return std::nullopt;
        }
        std::optional<ordered_json> value = parse_value();
        if (!value) {
            parse_error("Missing value in dict");
            return std::nullopt;
        }
        // QEMU compares keys as C strings.
        if (!seen.emplace(c_string(key->get_ref<const std::string&>())).second) {
            parse_error("duplicate key");
            return std::nullopt;
        }
        members.emplace_back(key->get<std::string>(), std::move(*value));
        // a separator or the end
        if (pos_ >= tokens_.size()) {
            parse_error("premature EOI");
            return std::nullopt;
        }
        const token_type t = tokens_[pos_++].type;
        if (t == token_type::rcurly) return object;
        if (t != token_type::comma) {
            parse_error("expected separator in dict");
            return std::nullopt;
        }
    }
}

std::optional<ordered_json> reader::parse_array() {
    ++pos_;  // [
    ordered_json array = ordered_json::array();
    if (pos_ >= tokens_.size()) {
        parse_error("premature EOI");
        return std::nullopt;
    }
    if (tokens_[pos_].type == token_type::rsquare) {
        ++pos_;
        return array;
    }
    for (;;) {
        std::optional<ordered_json> value = parse_value();
        if (!value) {
            parse_error("expecting value");
            return std::nullopt;
        }
        array.push_back(std::move(*value));
        if (pos_ >= tokens_.size()) {
            parse_error("premature EOI");
            return std::nullopt;
        }
        const token_type t = tokens_[pos_++].type;
        if (t == token_type::rsquare) return array;
        if (t != token_type::comma) {
            parse_error("expected separator in list");
            return std::nullopt;
        }
    }
}

std::optional<ordered_json> reader::parse_literal() {
    const token& t = tokens_[pos_++];
    const char* first = t.text.data();
    const char* last = first + t.text.size();
    if (t.type == token_type::string) {
        auto s = parse_string(t.text);
        if (!s) return std::nullopt;
        return ordered_json(std::move(*s));
    }
    if (t.type == token_type::integer) {
        // int64 if it fits, else uint64 if positive, else a double.
        std::int64_t i = 0;
        if (auto r = std::from_chars(first, last, i); r.ec == std::errc() && r.ptr == last) return ordered_json(i);
        std::uint64_t u = 0;
        if (t.text[0] != '-') {
            if (auto r = std::from_chars(first, last, u); r.ec == std::errc() && r.ptr == last) return ordered_json(u);
        }
    }
    double d = 0;
    const auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range) {
        // strtod gives ±HUGE_VAL on overflow and ±0 on underflow.
        const auto e = t.text.find_first_of("eE");
        const bool tiny = e != std::string::npos && e + 1 < t.text.size() && t.text[e + 1] == '-';
        const double magnitude = tiny ? 0.0 : std::numeric_limits<double>::infinity();
        d = t.text[0] == '-' ? -magnitude : magnitude;
    }
    return ordered_json(d);
}

// A string token's value, with QEMU's escapes and UTF-8 rules.
std::optional<std::string> reader::parse_string(const std::string& text) {
    const char quote = text[0];
    std::string out;
    std::size_t i = 1;
    while (i < text.size() && text[i] != quote) {
        if (text[i] != '\\') {
            std::size_t next = 0;
            const long cp = text[i] == '\0' ? -1 : decode_codepoint(text, i, next);
            if (cp < 0) {
                parse_error("invalid UTF-8 sequence in string");
                return std::nullopt;
            }
            append_utf8(out, cp);
            i = next;
            continue;
        }
        const std::size_t begin = i++;
        const char esc = text[i++];
        switch (esc) {
            case '"': out += '"'; break;
            case '\'': out += '\''; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                long cp = four_hex(text, i);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < text.size() && text[i] == '\\' && text[i + 1] == 'u') {
                    const long trailing = four_hex(text, i + 2);
                    if (trailing >= 0xDC00 && trailing <= 0xDFFF) {
                        cp = 0x10000 + ((cp & 0x3FF) << 10) + (trailing & 0x3FF);
                        i += 6;
                    } else {
                        cp = -1;
                    }
                }
                if (!is_valid_codepoint(cp)) {
                    const std::string_view seq = std::string_view(text).substr(begin, i - begin);
                    parse_error(std::string(c_string(seq)) + " is not a valid Unicode character");
                    return std::nullopt;
                }
                append_utf8(out, cp);
                break;
            }
            default:
                parse_error("invalid escape sequence in string");
                return std::nullopt;
        }
    }
    return out;
}

}  // namespace qwire::qmp::qemu
