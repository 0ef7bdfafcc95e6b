#include "qwire/framing/line_framer.hpp"

#include <string>

namespace qwire {

tl::expected<void, error> line_framer::feed(std::string_view bytes) {
    auto drained = framing_detail::check_drained(input_);
    if (drained) input_ = bytes;
    return drained;
}

void line_framer::reset() noexcept {
    failed_ = false;
    input_ = {};
    buffer_.reset();
}

frame_result line_framer::next() {
    if (failed_ || input_.empty()) {
        input_ = {};
        return {};
    }
    const std::size_t held = buffer_.held();
    // The LF may sit just past the last byte the limit allows.
    const std::size_t room = options_.max_line_bytes - held;
    const std::size_t window = room == std::string_view::npos ? room : room + 1;
    const std::size_t lf = input_.substr(0, window).find('\n');
    if (lf != std::string_view::npos) {
        const std::string_view line = buffer_.complete(input_.substr(0, lf));
        input_.remove_prefix(lf + 1);
        return {frame_status::frame, line, std::nullopt};
    }
    if (input_.size() >= window) {
        failed_ = true;
        input_ = {};
        buffer_.drop();
        return {frame_status::error, {},
                error(errc::frame_too_large,
                      "a line is longer than " + std::to_string(options_.max_line_bytes) + " bytes")};
    }
    buffer_.hold(input_);
    input_ = {};
    return {};
}

}  // namespace qwire
