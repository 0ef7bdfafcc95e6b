// Tab completion from the peer's command list and schema; see completion.hpp.
#include "completion.hpp"

#include <algorithm>

#include "command_line.hpp"

namespace qwire::tool {

namespace {

void keep_prefixed(std::vector<std::string>& v, std::string_view prefix) {
    std::erase_if(v, [&](const std::string& s) { return !s.starts_with(prefix); });
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

void completer::set_commands(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    commands_ = std::move(names);
}

std::vector<std::string> completer::complete(std::string_view before_cursor) const {
    // The last word is what follows the last blank outside quotes and brackets: split what is
    // there, and if the text ends in a blank the word being typed is empty.
    auto words = split_words(before_cursor);
    if (!words) return {};  // inside an open quote or bracket: a value being typed
    const bool new_word = before_cursor.empty() || before_cursor.back() == ' ' || before_cursor.back() == '\t';
    std::string word;
    if (!new_word && !words->empty()) {
        word = words->back();
        words->pop_back();
    }
    if (words->empty()) {
        if (!word.empty() && word.front() == '{') return {};
        std::vector<std::string> out = commands_;
        keep_prefixed(out, word);
        return out;
    }
    const std::string command = words->front();
    words->erase(words->begin());
    return complete_argument(command, *words, word);
}

std::vector<std::string> completer::complete_argument(const std::string& command, const std::vector<std::string>& words,
                                                      const std::string& word) const {
    if (!schema_ || !schema_->has_command(command)) return {};
    const auto given = parse_arguments(words).value_or(nlohmann::json::object());
    const auto eq = word.find('=');
    const std::string key = word.substr(0, eq);
    // Walk the dotted path: each part but the last names an object member.
    std::vector<qmp::argument_info> members = schema_->arguments(command, given);
    std::string path;
    std::size_t begin = 0;
    for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.', begin)) {
        const std::string part = key.substr(begin, dot - begin);
        auto it = std::find_if(members.begin(), members.end(), [&](const qmp::argument_info& a) { return a.name == part; });
        if (it == members.end()) return {};
        const auto t = schema_->type(it->type);
        if (!t || t->meta_type != "object") return {};
        members = t->members;
        path += part + ".";
        begin = dot + 1;
    }
    const std::string last = key.substr(begin);
    std::vector<std::string> out;
    if (eq == std::string::npos) {
        for (const auto& m : members) {
            const bool top_level_given = path.empty() && given.contains(m.name);
            if (top_level_given) continue;
            const auto t = schema_->type(m.type);
            out.push_back(path + m.name + (t && t->meta_type == "object" ? "." : "="));
        }
    } else {
        auto it = std::find_if(members.begin(), members.end(), [&](const qmp::argument_info& a) { return a.name == last; });
        if (it == members.end()) return {};
        const auto t = schema_->type(it->type);
        if (!t) return {};
        if (t->meta_type == "enum") for (const auto& v : t->values) out.push_back(key + "=" + v);
        if (t->json_type == "boolean") for (const char* v : {"false", "true"}) out.push_back(key + "=" + v);
    }
    keep_prefixed(out, word);
    return out;
}

}  // namespace qwire::tool
