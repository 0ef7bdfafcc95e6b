#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace qwire::fuzz {

void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    std::abort();
}

std::uint8_t input::byte() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
}

std::uint16_t input::u16() {
    const std::uint16_t high = byte();
    return static_cast<std::uint16_t>(high << 8 | byte());
}

std::uint64_t input::u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
}

std::string_view input::take(std::size_t n) {
    const auto piece = bytes_.substr(0, n);
    bytes_.remove_prefix(piece.size());
    return piece;
}

std::string_view input::rest() { return take(bytes_.size()); }

void outcomes::issued(request_id id) {
    FUZZ_CHECK(!disconnected_);
    FUZZ_CHECK(!ended_.contains(id));
    FUZZ_CHECK(open_.insert(id).second);
}

void outcomes::ended(request_id id) {
    FUZZ_CHECK(open_.erase(id) == 1);
    FUZZ_CHECK(ended_.insert(id).second);
}

void outcomes::event_pulled() { FUZZ_CHECK(!disconnected_); }

void outcomes::disconnected() {
    FUZZ_CHECK(!disconnected_);
    disconnected_ = true;
    FUZZ_CHECK(open_.empty());  // every request ended before the disconnect
}

void outcomes::check_finished() const {
    FUZZ_CHECK(disconnected_);
    FUZZ_CHECK(open_.empty());
}

json_stream_checker::json_stream_checker(json_framer_options options) : framer_(options) {}

std::size_t json_stream_checker::add(std::string_view bytes) {
    copy_.assign(bytes);  // the framer keeps views until need_more; the caller's bytes may go
    FUZZ_CHECK(framer_.feed(copy_).has_value());
    std::size_t messages = 0;
    for (auto r = framer_.next(); r.status != frame_status::need_more; r = framer_.next()) {
        FUZZ_CHECK(r.status != frame_status::error);
        if (r.status == frame_status::reset) continue;
        const auto value = nlohmann::json::parse(r.frame, nullptr, false);
        FUZZ_CHECK(!value.is_discarded());
        FUZZ_CHECK(value.is_object());
        ++messages;
    }
    return messages;
}

}  // namespace qwire::fuzz
