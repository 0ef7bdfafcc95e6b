// tools/qwire/mock_script.hpp — the canned answers of `qwire mock`.
//
// A script is a JSON object:
//
//   {
//     "version": {"qemu": {"major": 8, …}, "package": ""},   greeting (default: QEMU 7.2's)
//     "capabilities": ["oob"],                                greeting (default: ["oob"])
//     "events": [{"event": "RESUME"}],                        sent once a client has negotiated
//     "replies": [                                            tried in order, first match wins
//       {"execute": "query-status", "return": {"status": "running", "running": true}},
//       {"execute": "stop", "events": [{"event": "STOP"}], "return": {}},
//       {"execute": "device_del", "arguments": {"id": "nic0"},
//        "error": {"class": "DeviceNotFound", "desc": "Device 'nic0' not found"}},
//       {"execute": "query-cpus-fast", "times": 1, "return": []},
//       {"execute": "query-hostile", "raw": "{\"return\": [[[\r\n", "close": true}
//     ]
//   }
//
// A rule matches a command by name and, when it has "arguments", by each of those members
// being equal in the command's arguments. Its answer is "return" (a value), "error" (class and
// desc) or "raw" (bytes written as they are, for testing how a client copes with a broken
// server). "events" are sent before the answer (as QEMU sends STOP before the reply to stop),
// "events_after" after it; "times" limits how often the rule answers; "close" ends the
// connection after the answer.
//
// Commands no rule matches get built-in answers: query-version (the greeting's version),
// query-commands (the schema's commands, or the script's), query-qmp-schema (the schema
// file's), quit (an empty return, a SHUTDOWN event, then the connection closes); anything else
// a GenericError that says no reply is scripted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace qwire::tool {

struct mock_event {
    std::string name;
    nlohmann::json data;  ///< null: none
    friend bool operator==(const mock_event&, const mock_event&) = default;
};

struct mock_answer {
    std::vector<mock_event> events_before;
    std::optional<nlohmann::json> value;                    ///< {"return": value}
    std::optional<std::pair<std::string, std::string>> error;  ///< class, desc
    std::optional<std::string> raw;                         ///< bytes written verbatim
    std::vector<mock_event> events_after;
    bool close = false;
    friend bool operator==(const mock_answer&, const mock_answer&) = default;
};

class mock_script {
public:
    /// Parses a script (see above). Error text naming the faulty rule otherwise.
    [[nodiscard]] static tl::expected<mock_script, std::string> from_json(const nlohmann::json& script);
    /// An empty script: built-in answers only.
    mock_script() = default;

    [[nodiscard]] const std::optional<nlohmann::json>& version() const { return version_; }
    [[nodiscard]] const std::optional<std::vector<std::string>>& capabilities() const { return capabilities_; }
    /// Sent to each client once it has negotiated.
    [[nodiscard]] const std::vector<mock_event>& events_on_ready() const { return events_on_ready_; }
    /// The names the rules answer, sorted, without duplicates.
    [[nodiscard]] std::vector<std::string> command_names() const;

    /// The answer of the first rule matching, and uses it up once; none when no rule matches
    /// (the caller then answers with a built-in).
    [[nodiscard]] std::optional<mock_answer> answer(const std::string& command, const nlohmann::json& arguments);

private:
    struct rule {
        std::string command;
        nlohmann::json arguments;            ///< object to match, or null
        std::optional<std::size_t> times;    ///< answers left
        mock_answer answer;
    };
    std::optional<nlohmann::json> version_;
    std::optional<std::vector<std::string>> capabilities_;
    std::vector<mock_event> events_on_ready_;
    std::vector<rule> rules_;
};

}  // namespace qwire::tool
