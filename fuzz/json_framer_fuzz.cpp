// json_framer: the same bytes, fed whole and fed in pieces whose sizes come from the input,
// give exactly the same frames, resets and errors; every frame is within the limits, is found
// in the input in order (so frame bytes plus skipped bytes never exceed the input), and has
// balanced brackets.
//
// Input: one byte N (the low 4 bits) and N piece sizes (1..256, used in turn), one options
// byte (limits and the reset byte), then the stream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "qwire/framing/json_framer.hpp"

namespace {

using qwire::frame_status;
using qwire::fuzz::input;

struct outcome {
    frame_status status;
    std::string frame;
    int error = 0;
    friend bool operator==(const outcome&, const outcome&) = default;
};

// Every frame() result from `pieces`, one feed each, draining after each.
std::vector<outcome> frame_all(const qwire::json_framer_options& options, const std::vector<std::string_view>& pieces) {
    qwire::json_framer framer(options);
    std::vector<outcome> out;
    for (std::string_view piece : pieces) {
        const std::string copy(piece);  // gone after this loop turn: the framer must copy what it keeps
        FUZZ_CHECK(framer.feed(copy).has_value());
        for (auto r = framer.next(); r.status != frame_status::need_more; r = framer.next()) {
            FUZZ_CHECK((r.status == frame_status::error) == r.error.has_value());
            out.push_back({r.status, std::string(r.frame), r.error ? static_cast<int>(r.error->code()) : 0});
            if (r.status == frame_status::error) FUZZ_CHECK(framer.failed());
        }
    }
    return out;
}

// The deepest nesting of a frame, string and escape aware; -1 if its brackets do not balance.
int depth_of(std::string_view frame) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : frame) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
        } else if (c == '}' || c == ']') {
            if (--depth < 0) return -1;
        }
    }
    return depth == 0 ? deepest : -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    std::vector<std::size_t> sizes;
    for (int n = in.byte() & 0x0f; n > 0; --n) sizes.push_back(std::size_t{in.byte()} + 1);
    if (sizes.empty()) sizes.push_back(1);
    const std::uint8_t flags = in.byte();
    qwire::json_framer_options options;
    if (flags & 0x01) options.max_frame_bytes = std::size_t{1} + (flags >> 4) * 8;
    if (flags & 0x02) options.max_depth = std::size_t{1} + (flags >> 5);
    if (flags & 0x04) options.reset_byte = 0xff;
    const std::string_view stream = in.rest();

    std::vector<std::string_view> pieces;
    for (std::size_t at = 0, k = 0; at < stream.size(); ++k) {
        const auto piece = stream.substr(at, sizes[k % sizes.size()]);
        pieces.push_back(piece);
        at += piece.size();
    }
    const auto whole = frame_all(options, {stream});
    FUZZ_CHECK(frame_all(options, pieces) == whole);

    std::size_t cursor = 0;
    for (const auto& o : whole) {
        if (o.status != frame_status::frame) continue;
        FUZZ_CHECK(!o.frame.empty());
        FUZZ_CHECK(o.frame.size() <= options.max_frame_bytes);
        const auto at = stream.find(o.frame, cursor);
        FUZZ_CHECK(at != std::string_view::npos);
        cursor = at + o.frame.size();
        const int depth = depth_of(o.frame);
        FUZZ_CHECK(depth >= 0);
        FUZZ_CHECK(static_cast<std::size_t>(depth) <= options.max_depth);
        if (options.reset_byte) FUZZ_CHECK(o.frame.find('\xff') == std::string::npos);
    }
    FUZZ_CHECK(cursor <= stream.size());
    return 0;
}
