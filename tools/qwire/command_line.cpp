// Turns typed commands into QMP commands; see command_line.hpp.
#include "command_line.hpp"

#include <cctype>

namespace qwire::tool {

namespace {

using nlohmann::json;

bool is_blank(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

tl::expected<parsed_command, std::string> from_json_text(std::string_view text) {
    json message = json::parse(text, nullptr, false);
    if (message.is_discarded()) return tl::unexpected("not JSON: " + std::string(text));
    if (!message.is_object()) return tl::unexpected(std::string("a JSON command must be an object"));
    parsed_command c;
    auto name = message.find("execute");
    if (name == message.end()) {
        name = message.find("exec-oob");
        c.oob = true;
    }
    if (name == message.end() || !name->is_string())
        return tl::unexpected(std::string(R"(a JSON command needs "execute" or "exec-oob" with a name)"));
    c.name = name->get<std::string>();
    if (auto a = message.find("arguments"); a != message.end()) {
        if (!a->is_object()) return tl::unexpected(std::string(R"("arguments" must be an object)"));
        c.arguments = *a;
    }
    if (auto id = message.find("id"); id != message.end()) c.id = *id;
    return c;
}

// A value as typed: 'single quoted' is a string as is; anything else is JSON if it parses.
json parse_value(std::string_view text) {
    if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'')
        return std::string(text.substr(1, text.size() - 2));
    if (text.empty()) return "";
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded()) return std::string(text);
    return value;
}

}  // namespace

tl::expected<std::vector<std::string>, std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        if (i == line.size()) break;
        const std::size_t start = i;
        std::string closers;  // the brackets still open, innermost last
        char quote = 0;
        for (; i < line.size(); ++i) {
            const char c = line[i];
            if (quote) {
                if (c == '\\' && quote == '"' && i + 1 < line.size()) ++i;
                else if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '{' || c == '[') {
                closers.push_back(c == '{' ? '}' : ']');
            } else if (c == '}' || c == ']') {
                if (closers.empty() || closers.back() != c)
                    return tl::unexpected(std::string("unbalanced ") + c + " in '" + std::string(line.substr(start)) + "'");
                closers.pop_back();
            } else if (is_blank(c) && closers.empty()) {
                break;
            }
        }
        const std::string word(line.substr(start, i - start));
        if (quote) return tl::unexpected(std::string("unterminated ") + quote + " in '" + word + "'");
        if (!closers.empty())
            return tl::unexpected(std::string("unclosed ") + (closers.back() == '}' ? '{' : '[') + " in '" + word + "'");
        words.push_back(word);
    }
    return words;
}

tl::expected<nlohmann::json, std::string> parse_arguments(const std::vector<std::string>& words) {
    json arguments = json::object();
    for (const auto& word : words) {
        const auto eq = word.find('=');
        if (eq == std::string::npos) return tl::unexpected("expected key=value, got '" + word + "'");
        const std::string_view key(word.data(), eq);
        json* at = &arguments;
        std::size_t begin = 0;
        while (true) {
            const auto dot = key.find('.', begin);
            const std::string part(key.substr(begin, dot == std::string_view::npos ? std::string_view::npos : dot - begin));
            if (part.empty()) return tl::unexpected("empty key in '" + word + "'");
            const std::string so_far(key.substr(0, dot == std::string_view::npos ? key.size() : dot));
            if (dot == std::string_view::npos) {
                if (at->contains(part)) return tl::unexpected("'" + so_far + "' is given twice");
                (*at)[part] = parse_value(std::string_view(word).substr(eq + 1));
                break;
            }
            json& next = (*at)[part];
            if (next.is_null()) next = json::object();
            else if (!next.is_object()) return tl::unexpected("'" + so_far + "' is both a value and an object");
            at = &next;
            begin = dot + 1;
        }
    }
    return arguments;
}

tl::expected<parsed_command, std::string> parse_command_words(const std::vector<std::string>& words) {
    if (words.empty()) return tl::unexpected(std::string("empty command"));
    parsed_command c;
    c.name = words.front();
    if (words.size() == 2 && words[1].starts_with('{')) {
        json arguments = json::parse(words[1], nullptr, false);
        if (arguments.is_discarded() || !arguments.is_object()) return tl::unexpected("not JSON: " + words[1]);
        c.arguments = std::move(arguments);
        return c;
    }
    if (words.size() == 1) return c;
    auto arguments = parse_arguments(std::vector<std::string>(words.begin() + 1, words.end()));
    if (!arguments) return tl::unexpected(arguments.error());
    c.arguments = std::move(*arguments);
    return c;
}

tl::expected<parsed_command, std::string> parse_command_line(std::string_view line) {
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    if (line.empty()) return tl::unexpected(std::string("empty command"));
    if (line.front() == '{') return from_json_text(line);
    auto words = split_words(line);
    if (!words) return tl::unexpected(words.error());
    return parse_command_words(*words);
}

}  // namespace qwire::tool
