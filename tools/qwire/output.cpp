// Printing JSON for people and for programs; see output.hpp.
#include "output.hpp"

#include <unistd.h>

#include <cstdlib>

namespace qwire::tool {

namespace {

using nlohmann::json;

constexpr const char* key_colour = colour::blue;
constexpr const char* string_colour = colour::green;
constexpr const char* number_colour = colour::cyan;
constexpr const char* literal_colour = colour::magenta;


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
            out += paint(key_colour, compact(json(key)), colour);
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
        out += paint(string_colour, compact(value), colour);
    } else if (value.is_number()) {
        out += paint(number_colour, compact(value), colour);
    } else if (value.is_boolean() || value.is_null()) {
        out += paint(literal_colour, compact(value), colour);
    } else {
        out += compact(value);  // {} and []
    }
}

}  // namespace

std::string paint(const char* c, const std::string& text, bool on) { return on ? c + text + colour::reset : text; }

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
