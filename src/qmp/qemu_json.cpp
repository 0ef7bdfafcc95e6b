// QEMU's JSON dialect; see the header. The rules below were described from QEMU 7.2's
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

// --- modified UTF-8 (util/unicode.c) ------------------------------------------------------

bool is_valid_codepoint(long cp) {
    if (cp < 0 || cp > 0x10FFFF) return false;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;  // noncharacters
    return !(cp >= 0xD800 && cp <= 0xDFFF);                                       // surrogates
}

// Decodes the sequence at s[i]; sets `next` to the index after it (as QEMU's mod_utf8_codepoint
// does: after the bytes it looked at). Returns -1 for an invalid sequence. A 0 byte counts as
// U+0000 here: QEMU never sees one (its strings hold NUL as C0 80), nlohmann strings may.
long decode_codepoint(std::string_view s, std::size_t i, std::size_t& next) {
    static constexpr long min_cp[5] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
    const auto byte0 = static_cast<unsigned char>(s[i]);
    next = i + 1;
    if (byte0 < 0x80) return byte0;
    if (byte0 >= 0xFE) return -1;
    if ((byte0 & 0x40) == 0) return -1;  // a continuation byte
    unsigned len = 0;
    unsigned mask = 0x80;
    for (; byte0 & mask; mask >>= 1) ++len;
    long cp = byte0 & (mask - 1);
    for (unsigned k = 1; k < len; ++k) {
        if (next >= s.size() || (static_cast<unsigned char>(s[next]) & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (static_cast<unsigned char>(s[next]) & 0x3F);
        ++next;
    }
    if (!is_valid_codepoint(cp)) return -1;
    if (cp < min_cp[len - 2] && !(cp == 0 && len == 2)) return -1;  // overlong, except C0 80
    return cp;
}

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

// --- QDict and GLib orders -------------------------------------------------------------------

unsigned bucket_of(std::string_view key) noexcept {
    // tdb_hash over the modified UTF-8 bytes (a NUL is C0 80 there).
    std::size_t len = key.size() + static_cast<std::size_t>(std::count(key.begin(), key.end(), '\0'));
    std::uint32_t value = 0x238F13AFu * static_cast<std::uint32_t>(len);
    std::uint32_t i = 0;
    auto add = [&](unsigned char c) {
        value = value + (static_cast<std::uint32_t>(c) << (i * 5 % 24));
        ++i;
    };
    for (unsigned char c : key) {
        if (c == 0) {
            add(0xC0);
            add(0x80);
        } else {
            add(c);
        }
    }
    return (1103515243u * value + 12345u) % 512u;
}

std::vector<std::size_t> qdict_order(const std::vector<std::string_view>& keys) {
    std::vector<std::size_t> order(keys.size());
    std::vector<unsigned> buckets(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        order[i] = i;
        buckets[i] = bucket_of(keys[i]);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (buckets[a] != buckets[b]) return buckets[a] < buckets[b];
        return a > b;  // QLIST_INSERT_HEAD: the newest member of a bucket comes first
    });
    return order;
}

namespace {

// GLib 2.74's GHashTable with g_str_hash/g_str_equal, as far as insertion, removal, resizing
// and iteration go (open addressing, quadratic probing, tombstones, in-place rehash).
class glib_table {
public:
    glib_table() { set_shift(3); hashes_.assign(size_, 0); slots_.assign(size_, npos); }

    void insert(std::size_t key, std::string_view text) {
        const auto [index, hash] = lookup(text);
        const std::uint32_t old = hashes_[index];
        if (old >= 2) return;
        hashes_[index] = hash;
        slots_[index] = key;
        ++nnodes_;
        if (old == 0) {
            ++noccupied_;
            maybe_resize();
        }
    }

    void remove(std::string_view text) {
        const auto [index, hash] = lookup(text);
        if (hashes_[index] < 2) return;
        hashes_[index] = 1;  // tombstone
        slots_[index] = npos;
        --nnodes_;
        maybe_resize();
    }

    std::optional<std::size_t> first() const {
        for (std::size_t i = 0; i < size_; ++i) {
            if (hashes_[i] >= 2) return slots_[i];
        }
        return std::nullopt;
    }

    std::vector<std::string_view> texts;  // key index -> text, for equality checks

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::uint32_t prime_mod[] = {
        1,        2,        3,         7,         13,        31,        61,         127,
        251,      509,      1021,      2039,      4093,      8191,      16381,      32749,
        65521,    131071,   262139,    524287,    1048573,   2097143,   4194301,    8388593,
        16777213, 33554393, 67108859,  134217689, 268435399, 536870909, 1073741789, 2147483647};

    static std::uint32_t str_hash(std::string_view s) {
        std::uint32_t h = 5381;
        for (char c : s) h = h * 33 + static_cast<std::uint32_t>(static_cast<signed char>(c));
        return h < 2 ? 2 : h;
    }

    std::uint32_t index_of(std::uint32_t hash) const { return (hash * 11u) % mod_; }

    void set_shift(unsigned shift) {
        size_ = std::size_t{1} << shift;
        mod_ = prime_mod[shift];
        mask_ = static_cast<std::uint32_t>(size_ - 1);
    }

    std::pair<std::size_t, std::uint32_t> lookup(std::string_view text) const {
        const std::uint32_t hash = str_hash(text);
        std::uint32_t index = index_of(hash);
        std::uint32_t step = 0;
        std::optional<std::uint32_t> tombstone;
        while (hashes_[index] != 0) {
            if (hashes_[index] == hash) {
                if (slots_[index] != npos && texts[slots_[index]] == text) return {index, hash};
            } else if (hashes_[index] == 1 && !tombstone) {
                tombstone = index;
            }
            ++step;
            index = (index + step) & mask_;
        }
        return {tombstone ? *tombstone : index, hash};
    }

    void maybe_resize() {
        if ((size_ > nnodes_ * 4 && size_ > 8) || size_ <= noccupied_ + noccupied_ / 16) resize();
    }

    void resize() {
        const std::size_t old_size = size_;
        int n = static_cast<int>(static_cast<double>(nnodes_) * 1.333);
        unsigned shift = 0;
        for (; n; n >>= 1) ++shift;
        set_shift(std::max(shift, 3u));
        if (size_ > old_size) {
            hashes_.resize(size_, 0);
            slots_.resize(size_, npos);
        }
        std::vector<bool> relocated(std::max(size_, old_size), false);
        for (std::size_t i = 0; i < old_size; ++i) {
            std::uint32_t node_hash = hashes_[i];
            if (node_hash < 2) {
                hashes_[i] = 0;
                continue;
            }
            if (relocated[i]) continue;
            hashes_[i] = 0;
            std::size_t key = slots_[i];
            slots_[i] = npos;
            for (;;) {
                std::uint32_t index = index_of(node_hash);
                std::uint32_t step = 0;
                while (relocated[index]) {
                    ++step;
                    index = (index + step) & mask_;
                }
                relocated[index] = true;
                const std::uint32_t replaced = hashes_[index];
                hashes_[index] = node_hash;
                if (replaced < 2) {
                    slots_[index] = key;
                    break;
                }
                node_hash = replaced;
                std::swap(key, slots_[index]);
            }
        }
        if (size_ < old_size) {
            hashes_.resize(size_);
            slots_.resize(size_);
        }
        noccupied_ = nnodes_;
    }

    std::size_t size_ = 0;
    std::uint32_t mod_ = 0;
    std::uint32_t mask_ = 0;
    std::vector<std::uint32_t> hashes_;  // 0 unused, 1 tombstone, else the key's hash
    std::vector<std::size_t> slots_;     // key index per slot
    std::size_t nnodes_ = 0;
    std::size_t noccupied_ = 0;
};

}  // namespace

std::optional<std::size_t> glib_first_remaining(const std::vector<std::string_view>& keys,
                                                const std::vector<std::size_t>& removed) {
    glib_table table;
    table.texts = keys;
    for (std::size_t i = 0; i < keys.size(); ++i) table.insert(i, keys[i]);
    for (std::size_t i : removed) table.remove(keys[i]);
    return table.first();
}

// --- writer ----------------------------------------------------------------------------------

void writer::newline() {
    out_ += '\n';
    out_.append(is_array_.size() * 4, ' ');
}

void writer::before_value() {
    if (need_comma_) {
        out_ += ',';
        if (pretty_) {
            newline();
        } else {
            out_ += ' ';
        }
    } else {
        if (!out_.empty() && pretty_) newline();
        need_comma_ = true;
    }
    if (!is_array_.empty() && !is_array_.back()) {
        quoted(pending_key_);
        out_ += ": ";
    }
}

void writer::key(std::string_view name) {
    pending_key_ = name;
}

void writer::begin_object() {
    before_value();
    out_ += '{';
    is_array_.push_back(false);
    need_comma_ = false;
}

void writer::end_object() {
    is_array_.pop_back();
    need_comma_ = true;
    if (pretty_) newline();
    out_ += '}';
}

void writer::string(std::string_view s) {
    before_value();
    quoted(s);
}

void writer::quoted(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    auto u = [&](long cp) {
        out_ += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out_ += hex[(cp >> shift) & 0xF];
    };
    out_ += '"';
    for (std::size_t i = 0; i < s.size();) {
        std::size_t next = 0;
        long cp = decode_codepoint(s, i, next);
        i = next;
        switch (cp) {
            case '"': out_ += "\\\""; break;
            case '\\': out_ += "\\\\"; break;
            case '\b': out_ += "\\b"; break;
            case '\f': out_ += "\\f"; break;
            case '\n': out_ += "\\n"; break;
            case '\r': out_ += "\\r"; break;
            case '\t': out_ += "\\t"; break;
            default:
                if (cp < 0) cp = 0xFFFD;
                if (cp > 0xFFFF) {
                    u(0xD800 + ((cp - 0x10000) >> 10));
                    u(0xDC00 + ((cp - 0x10000) & 0x3FF));
                } else if (cp < 0x20 || cp >= 0x7F) {
                    u(cp);
                } else {
                    out_ += static_cast<char>(cp);
                }
        }
    }
    out_ += '"';
}

template <class Json>
void writer::value(const Json& v, const detail::type_node* type) {
    type = detail::resolve_alternate(type, v);
    switch (v.type()) {
        case nlohmann::json::value_t::object: {
            // QDict order of the members, inserted in schema order (else in the value's order).
            std::vector<std::string_view> names;
            std::vector<std::size_t> rank;
            std::vector<const Json*> values;
            names.reserve(v.size());
            const detail::member_list members = detail::members_of(type, v);
            for (auto it = v.begin(); it != v.end(); ++it) {
                names.push_back(it.key());
                values.push_back(&it.value());
            }
            std::vector<std::size_t> insertion(names.size());
            for (std::size_t i = 0; i < names.size(); ++i) {
                const std::size_t at = members.rank_of(names[i]);
                insertion[i] = at == detail::member_list::npos ? members.size() + i : at;
            }
            // qdict_order wants keys in insertion order: sort indices by insertion rank first.
            std::vector<std::size_t> by_insertion(names.size());
            for (std::size_t i = 0; i < by_insertion.size(); ++i) by_insertion[i] = i;
            std::sort(by_insertion.begin(), by_insertion.end(),
                      [&](std::size_t a, std::size_t b) { return insertion[a] < insertion[b]; });
            std::vector<std::string_view> inserted;
            inserted.reserve(names.size());
            for (std::size_t i : by_insertion) inserted.push_back(names[i]);
            begin_object();
            for (std::size_t k : qdict_order(inserted)) {
                const std::size_t i = by_insertion[k];
                key(names[i]);
                value(*values[i], members.type_of(names[i]));
            }
            end_object();
            return;
        }
        case nlohmann::json::value_t::array: {
            before_value();
            out_ += '[';
            is_array_.push_back(true);
            need_comma_ = false;
            const detail::type_node* element = detail::element_of(type);
            for (const auto& e : v) value(e, element);
            is_array_.pop_back();
            need_comma_ = true;
            if (pretty_) newline();
            out_ += ']';
            return;
        }
        case nlohmann::json::value_t::string:
            string(v.template get_ref<const typename Json::string_t&>());
            return;
        case nlohmann::json::value_t::boolean:
            before_value();
            out_ += v.template get<bool>() ? "true" : "false";
            return;
        case nlohmann::json::value_t::number_integer:
            before_value();
            out_ += std::to_string(v.template get<std::int64_t>());
            return;
        case nlohmann::json::value_t::number_unsigned:
            before_value();
            out_ += std::to_string(v.template get<std::uint64_t>());
            return;
        case nlohmann::json::value_t::number_float: {
            before_value();
            // "%.17g" in the C locale, whatever the process's locale is.
            std::array<char, 64> buf{};
            const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.template get<double>(),
                                         std::chars_format::general, 17);
            out_.append(buf.data(), r.ptr);
            return;
        }
        default:  // null, and binary (which JSON text never produces)
            before_value();
            out_ += "null";
            return;
    }
}

template void writer::value<nlohmann::json>(const nlohmann::json&, const detail::type_node*);
template void writer::value<ordered_json>(const ordered_json&, const detail::type_node*);

}  // namespace qwire::qmp::qemu
