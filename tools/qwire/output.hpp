// tools/qwire/output.hpp — how the tool prints JSON: compact lines for programs, indented and
// optionally coloured text for people.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "qwire/qmp/events.hpp"

namespace qwire::tool {

enum class colour_mode { never, always, automatic };

/// Whether to colour output written to `fd`: `automatic` colours a terminal unless NO_COLOR is
/// set (https://no-color.org).
[[nodiscard]] bool use_colour(colour_mode mode, int fd);

/// ANSI colours the tool uses.
namespace colour {
inline constexpr const char* blue = "\033[34m";
inline constexpr const char* green = "\033[32m";
inline constexpr const char* cyan = "\033[36m";
inline constexpr const char* magenta = "\033[35m";
inline constexpr const char* red = "\033[31m";
inline constexpr const char* dim = "\033[2m";
inline constexpr const char* reset = "\033[0m";
}  // namespace colour

/// `text` in `colour` when `on`, as it is otherwise.
[[nodiscard]] std::string paint(const char* colour, const std::string& text, bool on);

/// One line, no trailing newline; invalid UTF-8 is replaced, never thrown.
[[nodiscard]] std::string compact(const nlohmann::json& value);

/// Indented by two spaces, keys in their order, with ANSI colours when `colour`: keys blue,
/// strings green, numbers cyan, true/false/null magenta. No trailing newline.
[[nodiscard]] std::string pretty(const nlohmann::json& value, bool colour);

/// An event as QEMU sent it: {"event": …, "data": … (when present), "timestamp": {…}}.
[[nodiscard]] nlohmann::json event_json(const qmp::event& e);

}  // namespace qwire::tool
