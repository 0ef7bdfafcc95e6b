// Printing JSON for people and for programs; see output.hpp.
#include "output.hpp"

#include <unistd.h>

#include <cstdlib>

namespace qwire::tool {

namespace {

using nlohmann::json;

constexpr const char* key_colour = "\033[34m";
constexpr const char* string_colour = "\033[32m";
constexpr const char* number_colour = "\033[36m";
constexpr const char* literal_colour = "\033[35m";
constexpr const char* reset = "\033[0m";

void paint(std::string& out, const char* colour, const std::string& text, bool colour_on) {
    if (colour_on) out += colour;
    out += text;
    if (colour_on) out += reset;
}

void write(std::string& out, const json& value, bool colour, int depth) {
    const std::string indent(static_cast<std::size_t>(depth + 1) * 2, ' ');
    const std::string closing_indent(static_cast<std::size_t>(depth) * 2, ' ');
    if (value.is_object() && !value.empty()) {
        out += "{\n";
        bool first = true;
        for (const auto& [key, member] : value.items()) {
            if (!first) out += ",\n";
            first = false;
            out += indent;
            paint(out, key_colour, compact(json(key)), colour);
            out += ": ";
            write(out, member, colour, depth + 1);
        }
        out += "\n" + closing_indent + "}";
    } else if (value.is_array() && !value.empty()) {
        out += "[\n";
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (i) out += ",\n";
            out += indent;
            write(out, value[i], colour, depth + 1);
        }
        out += "\n" + closing_indent + "]";
    } else if (value.is_string()) {
        paint(out, string_colour, compact(value), colour);
    } else if (value.is_number()) {
        paint(out, number_colour, compact(value), colour);
    } else if (value.is_boolean() || value.is_null()) {
        paint(out, literal_colour, compact(value), colour);
    } else {
        out += compact(value);  // {} and []
    }
}

}  // namespace

bool use_colour(colour_mode mode, int fd) {
    switch (mode) {
        case colour_mode::never: return false;
        case colour_mode::always: return true;
        case colour_mode::automatic: break;
    }
    const char* no_colour = std::getenv("NO_COLOR");
    return ::isatty(fd) == 1 && (no_colour == nullptr || *no_colour == '\0');
}

std::string compact(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string pretty(const json& value, bool colour) {
    std::string out;
    write(out, value, colour, 0);
    return out;
}

json event_json(const qmp::event& e) {
    json out = {{"event", e.name}};
    if (!e.data.is_null()) out["data"] = e.data;
    out["timestamp"] = {{"seconds", e.timestamp.seconds}, {"microseconds", e.timestamp.microseconds}};
    return out;
}

}  // namespace qwire::tool
