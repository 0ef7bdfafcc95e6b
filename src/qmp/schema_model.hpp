// The QAPI schema as query-qmp-schema describes it, linked into a graph of types, and the two
// things QEMU does with a type that qwire must reproduce:
//
// - check arguments the way QEMU's generated unmarshalling code does through its QObject input
//   visitor (qapi/qobject-input-visitor.c): members in schema order, then the union variant,
//   then unexpected members; the first error wins, with QEMU's wording;
// - order an object's members the way QEMU's output visitor inserts them (schema order), which
//   decides the order of keys that share a QDict bucket when QEMU writes them.
//
// Internal to qwire; qwire::qmp::schema is the public face.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"

namespace qwire::qmp::detail {

enum class meta : std::uint8_t { builtin, enumeration, object, array, alternate, command, event };

struct type_node;

struct member {
    std::string name;
    std::string type_name;
    const type_node* type = nullptr;
    bool optional = false;
};

struct type_node {
    std::string name;
    meta kind = meta::builtin;
    std::string json_type;                 // builtin: string, int, number, boolean, null, value
    std::vector<std::string> values;       // enum
    std::vector<member> members;           // object: common members, the tag among them
    std::string tag;                       // object union: the tag member
    std::vector<std::string> cases;        // object union: tag values with a variant...
    std::vector<std::string> case_types;   // ...and the type of its extra members
    std::vector<const type_node*> case_nodes;
    std::string element_name;              // array
    const type_node* element = nullptr;
    std::vector<std::string> alternative_names;  // alternate
    std::vector<const type_node*> alternatives;
    std::string arg_name;                  // command, event
    std::string ret_name;                  // command
    const type_node* arg_type = nullptr;
    const type_node* ret_type = nullptr;
    bool allow_oob = false;                // command
    std::vector<std::string> features;
};

/// Every entity of one schema; pointers between them stay valid while the model lives (it is
/// movable, not copyable).
struct model {
    model() = default;
    model(model&&) = default;
    model& operator=(model&&) = default;
    model(const model&) = delete;
    model& operator=(const model&) = delete;

    std::map<std::string, type_node, std::less<>> entities;

    [[nodiscard]] const type_node* find(std::string_view name) const;
    [[nodiscard]] const type_node* command(std::string_view name) const;
    [[nodiscard]] const type_node* event(std::string_view name) const;
};

/// Links the array a query-qmp-schema reply returns. invalid_argument when an entry is
/// malformed or names a type the schema does not define.
[[nodiscard]] tl::expected<model, error> load_model(const nlohmann::json& entries);

/// What a server needs of QEMU's schema when it has none: qmp_capabilities (its `enable`
/// accepting "oob" and every capability offered) and query-version's VersionInfo.
[[nodiscard]] model builtin_model(const std::vector<std::string>& capabilities);

// --- walking values along types --------------------------------------------------------------

/// JSON types as QEMU's alternates tell their branches apart.
template <class Json>
[[nodiscard]] bool alternative_matches(const type_node* t, const Json& v) {
    switch (t->kind) {
        case meta::object: return v.is_object();
        case meta::array: return v.is_array();
        case meta::enumeration: return v.is_string();
        case meta::builtin:
            if (t->json_type == "string") return v.is_string();
            if (t->json_type == "int" || t->json_type == "number") return v.is_number();
            if (t->json_type == "boolean") return v.is_boolean();
            if (t->json_type == "null") return v.is_null();
            return false;
        default: return false;
    }
}

/// For an alternate, the branch a value takes (null when none does); other types unchanged.
template <class Json>
[[nodiscard]] const type_node* resolve_alternate(const type_node* t, const Json& v) {
    if (t == nullptr || t->kind != meta::alternate) return t;
    for (const type_node* a : t->alternatives) {
        if (alternative_matches(a, v)) return a;
    }
    return nullptr;
}

/// An object's members in the order QEMU visits them.
struct member_list {
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::vector<const member*> members;

    [[nodiscard]] std::size_t size() const noexcept { return members.size(); }
    [[nodiscard]] std::size_t rank_of(std::string_view name) const {
        for (std::size_t i = 0; i < members.size(); ++i) {
            if (members[i]->name == name) return i;
        }
        return npos;
    }
    [[nodiscard]] const type_node* type_of(std::string_view name) const {
        const std::size_t i = rank_of(name);
        return i == npos ? nullptr : members[i]->type;
    }
};

/// The members of object type `t` for the value `v`: the common ones, then those of the
/// variant its tag selects (recursively). Empty when `t` is not an object type.
template <class Json>
void collect_members(const type_node* t, const Json& v, member_list& out, std::size_t depth = 0) {
    if (t == nullptr || t->kind != meta::object || depth > 64) return;
    for (const member& m : t->members) out.members.push_back(&m);
    if (t->tag.empty() || !v.is_object()) return;
    auto tag = v.find(t->tag);
    if (tag == v.end() || !tag->is_string()) return;
    const auto& value = tag->template get_ref<const typename Json::string_t&>();
    for (std::size_t i = 0; i < t->cases.size(); ++i) {
        if (t->cases[i] == value) return collect_members(t->case_nodes[i], v, out, depth + 1);
    }
}

template <class Json>
[[nodiscard]] member_list members_of(const type_node* t, const Json& v) {
    member_list list;
    collect_members(t, v, list);
    return list;
}

[[nodiscard]] inline const type_node* element_of(const type_node* t) {
    return t != nullptr && t->kind == meta::array ? t->element : nullptr;
}

/// Commands whose arguments QEMU hands to the handler unchecked ('gen': false in its schema,
/// which query-qmp-schema does not show): device_add.
[[nodiscard]] inline bool unchecked_arguments(std::string_view command) { return command == "device_add"; }

/// Checks a command's arguments (an object) against its argument type like QEMU's
/// unmarshalling does. Returns QEMU's GenericError description of the first problem, or none.
template <class Json>
[[nodiscard]] std::optional<std::string> check_arguments(const type_node* arg_type, const Json& arguments);

extern template std::optional<std::string> check_arguments<nlohmann::json>(const type_node*, const nlohmann::json&);
extern template std::optional<std::string> check_arguments<nlohmann::ordered_json>(const type_node*,
                                                                                   const nlohmann::ordered_json&);

}  // namespace qwire::qmp::detail
