// QEMU's own JSON, as its QMP server reads and writes it (QEMU 7.2, qobject/json-lexer.c,
// json-streamer.c, json-parser.c, json-writer.c, qdict.c, util/unicode.c). Used by the server
// side; the client keeps the plain framer and nlohmann's parser.
//
// Reading differs from RFC 8259 where QEMU does: single-quoted strings and the \' escape are
// accepted, duplicate keys are an error, NUL may be written \u0000, noncharacters are not
// valid, and malformed input is not fatal: QEMU reports "JSON parse error, ..." and
// resynchronises at the next structural or control character, then goes on.
//
// Writing follows QEMU's JSON writer: ", " and ": " separators (or 4-space indented lines when
// pretty), every non-ASCII character and DEL as an upper-case \uXXXX escape, doubles as
// "%.17g", and object members in QDict order: by hash bucket of the key (QEMU's tdb_hash, 512
// buckets), and inside one bucket the member inserted last first. Insertion order is what
// QEMU's output visitor produces: the schema's member order when a type is known, else the
// order of the members in the value (alphabetical for nlohmann::json, textual for
// ordered_json).
//
// Everything here was described from QEMU's sources and checked against QEMU 7.2 itself; no
// code is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwire/error.hpp"

namespace qwire::qmp::detail {
struct type_node;
}

namespace qwire::qmp::qemu {

/// Parsed client input keeps the textual order of object members: QEMU's QDict order depends
/// on it when two keys share a hash bucket.
using ordered_json = nlohmann::ordered_json;

/// One complete message of the input: a value, or the text of the error QEMU replies with.
struct message {
    std::optional<ordered_json> value;
    std::string error;                   ///< e.g. "JSON parse error, expecting value"
    errc code = errc::malformed_json;    ///< for the error: malformed_json, frame_too_large, nesting_too_deep
};

struct reader_limits {
    std::size_t max_token_bytes = std::size_t{64} << 20;  ///< QEMU's MAX_TOKEN_SIZE
    std::size_t max_tokens = std::size_t{2} << 20;        ///< QEMU's MAX_TOKEN_COUNT
    std::size_t max_depth = 1024;                         ///< QEMU's MAX_NESTING
};

/// QEMU's JSON lexer, streamer and parser: bytes in, messages out, one at a time, so the
/// caller can stop reading (QEMU's monitor_suspend) with the rest of the input kept.
class reader {
public:
    explicit reader(reader_limits limits = {});

    /// Appends bytes to the input not yet consumed.
    void feed(std::string_view bytes);
    /// Consumes input up to the end of the next message and returns it; none when the input
    /// ends first (the partial message is kept).
    [[nodiscard]] std::optional<message> next();
    /// Input bytes fed but not consumed yet.
    [[nodiscard]] std::size_t buffered() const noexcept { return input_.size() - consumed_; }
    /// True when a message is complete but not handed out yet (one byte can end two).
    [[nodiscard]] bool has_message() const noexcept { return !ready_.empty(); }
    /// True while a message has started (tokens or a partial token are pending) or non-blank
    /// input waits unread.
    [[nodiscard]] bool in_message() const noexcept;
    /// Forgets all input and state.
    void reset();

private:
    enum class state : std::uint8_t {
        start, recovery, dq_string, dq_escape, sq_string, sq_escape, zero, sign, digits,
        mantissa, mantissa_digits, exp_e, exp_sign, exp_digits, keyword,
    };
    enum class token_type : std::uint8_t {
        lcurly, rcurly, lsquare, rsquare, colon, comma, integer, floating, keyword, string, error,
    };
    struct token {
        token_type type;
        std::string text;
    };

    void feed_char(unsigned char ch);
    void process_token(token_type type);
    void emit(message m);
    void reset_message();

    // The parser, over tokens_ (recursive descent, depth bounded by max_depth).
    std::optional<ordered_json> parse_value();
    std::optional<ordered_json> parse_object();
    std::optional<ordered_json> parse_array();
    std::optional<ordered_json> parse_literal();
    std::optional<std::string> parse_string(const std::string& text);
    void parse_error(std::string what);

    reader_limits limits_;
    std::string input_;
    std::size_t consumed_ = 0;
    state state_ = state::start;
    std::string token_text_;
    std::vector<token> tokens_;
    std::size_t token_bytes_ = 0;
    long brace_count_ = 0;
    long bracket_count_ = 0;
    std::deque<message> ready_;
    // parser state
    std::size_t pos_ = 0;
    std::optional<std::string> parse_error_;
};

/// True for a code point QEMU takes in a string: in range, neither a surrogate nor a
/// noncharacter (util/unicode.c).
[[nodiscard]] bool is_valid_codepoint(long cp);

/// Decodes the modified UTF-8 sequence at s[i] and sets `next` to the index after it (as QEMU's
/// mod_utf8_codepoint does: after the bytes it looked at). Returns -1 for an invalid sequence.
/// A 0 byte counts as U+0000 here: QEMU never sees one (its strings hold NUL as C0 80),
/// nlohmann strings may.
[[nodiscard]] long decode_codepoint(std::string_view s, std::size_t i, std::size_t& next);

/// QDict's bucket for a key (tdb_hash of its modified UTF-8 bytes, modulo 512).
[[nodiscard]] unsigned bucket_of(std::string_view key) noexcept;

/// Positions 0..n-1 of keys given in insertion order, in the order QEMU's QDict iterates
/// them: by bucket, and the later inserted first inside a bucket.
[[nodiscard]] std::vector<std::size_t> qdict_order(const std::vector<std::string_view>& keys_in_insertion_order);

/// The key GLib's hash table (2.74, g_str_hash) yields first when QEMU's input visitor looks
/// for unvisited members: `keys` inserted in the given order, then `removed` ones removed in
/// the given order. Returns an index into `keys`, or none when every key was removed.
[[nodiscard]] std::optional<std::size_t> glib_first_remaining(const std::vector<std::string_view>& keys,
                                                             const std::vector<std::size_t>& removed);

/// QEMU's JSON writer.
class writer {
public:
    explicit writer(bool pretty) : pretty_(pretty) {}

    void begin_object();
    void end_object();
    void key(std::string_view name);
    /// A value; objects are written in QDict order, using the schema type `type` (may be
    /// null) for the insertion order of their members.
    template <class Json>
    void value(const Json& v, const detail::type_node* type = nullptr);
    /// A string value.
    void string(std::string_view s);

    /// The text so far; in pretty mode lines end in '\n' (QEMU's monitor turns them into CRLF).
    [[nodiscard]] std::string& text() noexcept { return out_; }

private:
    void before_value();
    void newline();
    void quoted(std::string_view s);

    std::string out_;
    std::vector<bool> is_array_;
    bool pretty_;
    bool need_comma_ = false;
    std::string_view pending_key_;
};

extern template void writer::value<nlohmann::json>(const nlohmann::json&, const detail::type_node*);
extern template void writer::value<ordered_json>(const ordered_json&, const detail::type_node*);

/// A value as QEMU writes it (compact), e.g. for error details.
template <class Json>
[[nodiscard]] std::string dump(const Json& v) {
    writer w(false);
    w.value(v);
    return std::move(w.text());
}

}  // namespace qwire::qmp::qemu
