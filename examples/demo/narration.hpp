// How the demo talks: numbered steps, indented plain sentences, measured numbers made readable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"

namespace demo {

/// A step did not do what the demo shows; main() reports it and exits 1.
struct step_failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The value, or step_failed naming `what` and the error.
template <class T>
T must(tl::expected<T, qwire::error> result, std::string_view what) {
    if (!result) throw step_failed(std::string(what) + ": " + result.error().message());
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

inline void check(bool ok, std::string_view what) {
    if (!ok) throw step_failed(std::string(what));
}

/// "[n] Title", after a blank line.
inline void step(int n, std::string_view title) {
    std::printf("\n[%d] %.*s\n", n, static_cast<int>(title.size()), title.data());
    std::fflush(stdout);
}

/// One indented line.
inline void say(std::string_view line) {
    std::printf("    %.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stdout);
}

/// 10000 -> "10,000".
inline std::string grouped(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

/// A duration in the unit that reads best: "85 µs", "12.3 ms", "1.84 s".
inline std::string took(std::chrono::nanoseconds d) {
    char text[32];
    const double us = static_cast<double>(d.count()) / 1e3;
    if (us < 1000) std::snprintf(text, sizeof text, "%.0f µs", us);
    else if (us < 1e6) std::snprintf(text, sizeof text, "%.1f ms", us / 1e3);
    else std::snprintf(text, sizeof text, "%.2f s", us / 1e6);
    return text;
}

/// Compact JSON, cut to `limit` characters with "…".
inline std::string brief(const nlohmann::json& value, std::size_t limit = 72) {
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > limit) text = text.substr(0, limit) + "…";
    return text;
}

/// "nesting_too_deep (fatal: the session ends): the detail".
inline std::string describe(const qwire::error& e) {
    std::string text(qwire::to_string(e.code()));
    text += e.is_fatal() ? " (fatal: the session ends)" : " (not fatal: the session goes on)";
    if (!e.detail().empty()) text += ": " + e.detail();
    if (e.cause()) text += " (cause: " + e.cause().message() + ")";
    return text;
}

}  // namespace demo
