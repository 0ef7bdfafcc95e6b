// Parsing and matching the canned answers of `qwire mock`; see mock_script.hpp.
#include "mock_script.hpp"

#include <algorithm>

namespace qwire::tool {

namespace {

using nlohmann::json;

tl::expected<std::vector<mock_event>, std::string> parse_events(const json& list, const std::string& where) {
    std::vector<mock_event> events;
    if (!list.is_array()) return tl::unexpected(where + " must be a list");
    for (const auto& e : list) {
        if (!e.is_object() || !e.contains("event") || !e["event"].is_string())
            return tl::unexpected(where + ": each event needs a string \"event\"");
        const json data = e.value("data", json());
        if (!data.is_null() && !data.is_object()) return tl::unexpected(where + ": \"data\" must be an object");
        events.push_back({e["event"].get<std::string>(), data});
    }
    return events;
}

tl::expected<mock_answer, std::string> parse_answer(const json& r, const std::string& where) {
    mock_answer a;
    const int kinds = int(r.contains("return")) + int(r.contains("error")) + int(r.contains("raw"));
    if (kinds != 1) return tl::unexpected(where + " needs exactly one of \"return\", \"error\" or \"raw\"");
    if (r.contains("return")) a.value = r["return"];
    if (r.contains("error")) {
        const json& e = r["error"];
        if (!e.is_object() || !e.contains("class") || !e["class"].is_string() || e["class"].get<std::string>().empty() ||
            !e.contains("desc") || !e["desc"].is_string())
            return tl::unexpected(where + ": \"error\" needs a string \"class\" and \"desc\"");
        a.error = {e["class"].get<std::string>(), e["desc"].get<std::string>()};
    }
    if (r.contains("raw")) {
        if (!r["raw"].is_string()) return tl::unexpected(where + ": \"raw\" must be a string");
        a.raw = r["raw"].get<std::string>();
    }
    for (const auto& [key, field] : {std::pair{"events", &a.events_before}, std::pair{"events_after", &a.events_after}}) {
        if (!r.contains(key)) continue;
        auto events = parse_events(r[key], where + " \"" + key + "\"");
        if (!events) return tl::unexpected(events.error());
        *field = std::move(*events);
    }
    if (r.contains("close")) {
        if (!r["close"].is_boolean()) return tl::unexpected(where + ": \"close\" must be true or false");
        a.close = r["close"].get<bool>();
    }
    return a;
}

bool matches(const json& wanted, const json& given) {
    if (wanted.is_null()) return true;
    if (!given.is_object()) return wanted.empty();
    return std::all_of(wanted.items().begin(), wanted.items().end(), [&](const auto& member) {
        auto it = given.find(member.key());
        return it != given.end() && *it == member.value();
    });
}

}  // namespace

tl::expected<mock_script, std::string> mock_script::from_json(const json& script) {
    static const std::vector<std::string> top_keys = {"version", "capabilities", "events", "replies"};
    static const std::vector<std::string> rule_keys = {"execute", "arguments", "return", "error", "raw",
                                                       "events", "events_after", "times", "close"};
    if (!script.is_object()) return tl::unexpected(std::string("a script must be a JSON object"));
    for (const auto& [key, value] : script.items())
        if (std::find(top_keys.begin(), top_keys.end(), key) == top_keys.end())
            return tl::unexpected("unknown script member \"" + key + "\"");
    mock_script s;
    if (script.contains("version")) {
        if (!script["version"].is_object()) return tl::unexpected(std::string("\"version\" must be an object"));
        s.version_ = script["version"];
    }
    if (script.contains("capabilities")) {
        const json& caps = script["capabilities"];
        if (!caps.is_array() || !std::all_of(caps.begin(), caps.end(), [](const json& c) { return c.is_string(); }))
            return tl::unexpected(std::string("\"capabilities\" must be a list of strings"));
        s.capabilities_ = caps.get<std::vector<std::string>>();
    }
    if (script.contains("events")) {
        auto events = parse_events(script["events"], "\"events\"");
        if (!events) return tl::unexpected(events.error());
        s.events_on_ready_ = std::move(*events);
    }
    const json replies = script.value("replies", json::array());
    if (!replies.is_array()) return tl::unexpected(std::string("\"replies\" must be a list"));
    for (std::size_t i = 0; i < replies.size(); ++i) {
        const json& r = replies[i];
        const std::string where = "reply " + std::to_string(i + 1);
        if (!r.is_object() || !r.contains("execute") || !r["execute"].is_string())
            return tl::unexpected(where + " needs a string \"execute\"");
        for (const auto& [key, value] : r.items())
            if (std::find(rule_keys.begin(), rule_keys.end(), key) == rule_keys.end())
                return tl::unexpected(where + ": unknown member \"" + key + "\"");
        rule rl;
        rl.command = r["execute"].get<std::string>();
        if (r.contains("arguments")) {
            if (!r["arguments"].is_object()) return tl::unexpected(where + ": \"arguments\" must be an object");
            rl.arguments = r["arguments"];
        }
        if (r.contains("times")) {
            if (!r["times"].is_number_unsigned()) return tl::unexpected(where + ": \"times\" must be a count");
            rl.times = r["times"].get<std::size_t>();
        }
        auto answer = parse_answer(r, where);
        if (!answer) return tl::unexpected(answer.error());
        rl.answer = std::move(*answer);
        s.rules_.push_back(std::move(rl));
    }
    return s;
}

std::vector<std::string> mock_script::command_names() const {
    std::vector<std::string> names;
    for (const auto& r : rules_) names.push_back(r.command);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

std::optional<mock_answer> mock_script::answer(const std::string& command, const json& arguments) {
    for (auto& r : rules_) {
        if (r.command != command || !matches(r.arguments, arguments) || (r.times && *r.times == 0)) continue;
        if (r.times) --*r.times;
        return r.answer;
    }
    return std::nullopt;
}

}  // namespace qwire::tool
