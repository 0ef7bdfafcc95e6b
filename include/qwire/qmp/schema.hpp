/// \file
/// \brief A QEMU's QMP schema, from its query-qmp-schema reply.
///
/// qwire::qmp::schema knows which commands a QEMU has, what arguments each takes, and checks
/// arguments the way QEMU does before it runs a command: members in schema order, required and
/// unexpected members, JSON types, enum values, nested objects, lists, unions and alternates,
/// reporting the first problem in QEMU's own words ("Parameter 'x' is missing"). A server uses
/// it to answer like QEMU, a client to refuse a malformed command before sending it, a shell to
/// complete command and argument names.
///
/// The schema is immutable once built; share it (std::shared_ptr<const schema>) between a client,
/// a server and a shell freely, from any thread. Type names are those query-qmp-schema uses:
/// builtins ("str", "int", "number", "bool", "null", "any") and QEMU's numbered names ("418",
/// "[418]" for a list). Only std::bad_alloc escapes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"

namespace qwire::qmp {

namespace detail {
struct model;
}

/// A member of a command's arguments or of an object type.
struct argument_info {
    std::string name;  ///< the member name, e.g. "command-line"
    std::string type;       ///< a type name of this schema; see type()
    bool optional = false;  ///< may be left out
    /// Equal when every member is.
    friend bool operator==(const argument_info&, const argument_info&) = default;
};

/// One command of the schema.
struct command_info {
    std::string name;  ///< e.g. "query-status"
    std::vector<argument_info> arguments;  ///< in schema order; for a union, the common ones (see arguments())
    std::string arg_type;                  ///< the type of the arguments object
    std::string ret_type;                  ///< the type of the reply's "return"
    bool allow_oob = false;                ///< may be sent with exec-oob
    std::vector<std::string> features;     ///< e.g. "deprecated", "unstable"
};

/// One type of the schema.
struct type_info {
    std::string name;  ///< e.g. "str", "418" or "[418]"
    std::string meta_type;                 ///< "builtin", "enum", "object", "array" or "alternate"
    std::string json_type;                 ///< builtins: "string", "int", "number", "boolean", "null", "value"
    std::vector<std::string> values;       ///< enum: the accepted strings
    std::vector<argument_info> members;    ///< object: the common members
    std::string tag;                       ///< object union: the member whose value picks a variant
    std::vector<std::pair<std::string, std::string>> variants;  ///< union: tag value -> type of its extra members
    std::string element_type;              ///< array
    std::vector<std::string> alternatives; ///< alternate: the types a value may take
};

/// A QEMU's QMP schema, immutable once built (see the file comment).
class QWIRE_API schema {
public:
    /// Builds a schema from a query-qmp-schema reply: the whole reply object
    /// ({"return": […], "id": …}) or the array it returns. Error invalid_argument when it is
    /// not a schema (the detail says which entry is wrong).
    [[nodiscard]] static tl::expected<schema, error> from_json(const nlohmann::json& reply);
    /// The same from JSON text, e.g. the reply line as QEMU sent it. invalid_argument also when
    /// the text is not JSON.
    [[nodiscard]] static tl::expected<schema, error> parse(std::string_view text);

    // Getters.
    /// Command names, sorted.
    [[nodiscard]] std::vector<std::string> command_names() const;
    /// Event names, sorted.
    [[nodiscard]] std::vector<std::string> event_names() const;
    /// True when the schema has a command of that name.
    [[nodiscard]] bool has_command(std::string_view name) const;
    /// The command of that name; empty when there is none.
    [[nodiscard]] std::optional<command_info> command(std::string_view name) const;
    /// The arguments a command accepts given those already chosen: for a union (blockdev-add,
    /// object-add, netdev_add…), the common members plus those of the variant that the tag's
    /// value in `given` selects. Empty when the command is unknown.
    [[nodiscard]] std::vector<argument_info> arguments(std::string_view command,
                                                       const nlohmann::json& given = nullptr) const;
    /// The type of that name (see the file comment for how types are named); empty when
    /// there is none.
    [[nodiscard]] std::optional<type_info> type(std::string_view name) const;

    /// Checks a command and its arguments (an object, or null for none) as QEMU 7.2 does before
    /// running it. On success the command would reach its handler. Otherwise the error is what
    /// QEMU would reply, as errc::command_failed with error_class() "CommandNotFound" (the
    /// schema has no such command) or "GenericError" and QEMU's text in detail(), e.g.
    /// "Parameter 'command-line' is missing". The arguments of device_add, which QEMU hands to
    /// its handler unchecked, are not checked.
    [[nodiscard]] tl::expected<void, error> validate(std::string_view command, const nlohmann::json& arguments) const;

    /// The linked types, for qwire's own use (the server orders replies with them).
    [[nodiscard]] const detail::model& linked() const noexcept { return *model_; }

private:
    explicit schema(std::shared_ptr<const detail::model> m) : model_(std::move(m)) {}
    std::shared_ptr<const detail::model> model_;
};

}  // namespace qwire::qmp
