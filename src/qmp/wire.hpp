// QMP's wire format.
//
// Client side: encoding commands compactly and decoding what a server sends. Compact because
// QEMU reads its input one byte per system call: no spaces, no empty "arguments", short ids.
//
// Server side: writing greeting, replies and events byte for byte as QEMU 7.2 does (its JSON
// writer and QDict member order, CRLF line ends, see qemu_json.hpp), and checking a request
// object with QEMU's rules (qapi/qmp-dispatch.c, qmp_dispatch_check_obj) and wording.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qmp/qemu_json.hpp"
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

// --- server side ------------------------------------------------------------------------------

/// `{"QMP": {"version": …, "capabilities": […]}}` and CRLF. `version_type` (VersionInfo,
/// may be null) orders the version's members.
[[nodiscard]] std::string encode_greeting(const nlohmann::json& version, const std::vector<std::string>& capabilities,
                                          const detail::type_node* version_type, bool pretty);

/// `{"return": …, "id": …}` and CRLF; `type` (the command's ret-type, may be null) orders the
/// members of the value; `id` null when the request had none.
[[nodiscard]] std::string encode_return(const nlohmann::json& value, const detail::type_node* type,
                                        const qemu::ordered_json* id, bool pretty);

/// `{"id": …, "error": {"class": …, "desc": …}}` and CRLF.
[[nodiscard]] std::string encode_error(std::string_view error_class, std::string_view desc, const qemu::ordered_json* id,
                                       bool pretty);

/// `{"timestamp": {…}, "event": …, "data": …}` and CRLF; no "data" when `data` is null.
[[nodiscard]] std::string encode_event(std::string_view name, const nlohmann::json& data, const timestamp& when,
                                       const detail::type_node* data_type, bool pretty);

/// QEMU's qmp_is_oob(): the request has "exec-oob" and no "execute".
[[nodiscard]] bool is_oob_request(const qemu::ordered_json& request);

/// A request that passed QEMU's checks of its members.
struct client_command {
    std::string name;
    bool oob = false;                        ///< it came as exec-oob
    std::optional<qemu::ordered_json> id;    ///< verbatim
    qemu::ordered_json arguments;            ///< an object ({} when absent)
};

/// A request QEMU refuses before looking up its command (class GenericError).
struct request_error {
    std::optional<qemu::ordered_json> id;    ///< echoed when the request was an object with one
    std::string desc;                        ///< e.g. "QMP input member 'arguments' must be an object"
};

/// Checks a request like qmp_dispatch_check_obj(): an object whose members, in QDict order,
/// are "execute" or (when `allow_oob`) "exec-oob" (a string; not both), "arguments" (an object)
/// and "id"; nothing else.
[[nodiscard]] tl::expected<client_command, request_error> decode_client_command(qemu::ordered_json&& request,
                                                                                bool allow_oob);

}  // namespace qwire::qmp::wire
