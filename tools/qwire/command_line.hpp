// tools/qwire/command_line.hpp — what a person types, turned into a QMP command.
//
// The shell and `qwire exec` accept a command in two forms:
//
//   query-block                                  a name alone
//   blockdev-add driver=null-co node-name=n0     name key=value ...
//   migrate-set-parameters tls-creds="a b" x.y=1 values parsed as JSON where they parse,
//                                                as strings otherwise; dotted keys nest
//   {"execute": "query-status"}                  raw JSON (execute or exec-oob)
//
// Values keep spaces inside double or single quotes and inside brackets, so
// `x={"a": [1, 2]}` is one argument. Every mistake is reported in one line that names the
// offending word; nothing is sent for a line that does not parse.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace qwire::tool {

struct parsed_command {
    std::string name;
    nlohmann::json arguments;          ///< an object, or null when none were given
    bool oob = false;                  ///< raw JSON used exec-oob
    std::optional<nlohmann::json> id;  ///< raw JSON carried an id
    friend bool operator==(const parsed_command&, const parsed_command&) = default;
};

/// Splits a line into words: whitespace separates, except inside quotes and brackets.
/// Error text when a quote or bracket is not closed.
[[nodiscard]] tl::expected<std::vector<std::string>, std::string> split_words(std::string_view line);

/// Builds the arguments object from key=value words (see above). Error text otherwise.
[[nodiscard]] tl::expected<nlohmann::json, std::string> parse_arguments(const std::vector<std::string>& words);

/// Parses a whole line: raw JSON when it starts with '{', else a name and key=value words.
/// Error text for an empty line, bad JSON, a JSON message without execute/exec-oob, a word
/// without '=', or a key given twice.
[[nodiscard]] tl::expected<parsed_command, std::string> parse_command_line(std::string_view line);

/// The same from words already split (the command line of `qwire exec NAME ARGS...`): a
/// single word starting with '{' after the name is the whole arguments object.
[[nodiscard]] tl::expected<parsed_command, std::string> parse_command_words(const std::vector<std::string>& words);

}  // namespace qwire::tool
