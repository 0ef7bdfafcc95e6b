// QMP's wire format: encoding commands compactly and decoding what a server sends.
//
// Shared by the client (and later the server side). Compact because QEMU reads its input one
// byte per system call: no spaces, no empty "arguments", short ids.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/qmp/events.hpp"

namespace qwire::qmp::wire {

/// `{"execute":"NAME","arguments":{…},"id":ID}` (or exec-oob), leaving out null or empty
/// arguments and a null id. Invalid UTF-8 in strings is replaced, never thrown.
[[nodiscard]] std::string encode_command(std::string_view command, const nlohmann::json& arguments, bool oob,
                                         const nlohmann::json* id);

/// Compact JSON text of a value, invalid UTF-8 replaced.
[[nodiscard]] std::string dump(const nlohmann::json& value);

/// Parses one frame that must hold a JSON object. Errors: invalid_utf8, malformed_json,
/// unexpected_message (valid JSON but not an object).
[[nodiscard]] tl::expected<nlohmann::json, error> parse_object(std::string_view frame);

/// A reply as sent by a server: success (`return`) or error (`error`).
struct server_reply {
    std::optional<nlohmann::json> id;  ///< absent when the server sent none
    bool ok = true;
    nlohmann::json value;              ///< the `return` member when ok
    std::string error_class;           ///< when !ok
    std::string desc;                  ///< when !ok
};

using server_message = std::variant<greeting, event, server_reply>;

/// Decodes a parsed object from a server. unexpected_message when it is none of greeting,
/// event or reply, or when a member has the wrong type.
[[nodiscard]] tl::expected<server_message, error> decode_server_message(nlohmann::json&& message);

}  // namespace qwire::qmp::wire
