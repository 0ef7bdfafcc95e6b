#include "qmp/schema_model.hpp"

#include "qmp/qemu_json.hpp"

namespace qwire::qmp::detail {
namespace {

using json = nlohmann::json;

tl::unexpected<error> bad(std::string detail) {
    return tl::unexpected(error(errc::invalid_argument, "query-qmp-schema: " + std::move(detail)));
}

const json* member_of(const json& entry, const char* key) {
    auto it = entry.find(key);
    return it == entry.end() ? nullptr : &*it;
}

tl::expected<std::string, error> string_member(const json& entry, const char* key, const std::string& who) {
    const json* v = member_of(entry, key);
    if (v == nullptr || !v->is_string()) return bad(who + " has no string \"" + key + "\"");
    return v->get<std::string>();
}

std::vector<std::string> strings_of(const json* list) {
    std::vector<std::string> out;
    if (list == nullptr || !list->is_array()) return out;
    for (const json& s : *list) {
        if (s.is_string()) out.push_back(s.get<std::string>());
    }
    return out;
}

tl::expected<void, error> read_object(const json& entry, type_node& t) {
    const json* members = member_of(entry, "members");
    if (members == nullptr || !members->is_array()) return bad("object " + t.name + " has no \"members\" array");
    for (const json& m : *members) {
        if (!m.is_object()) return bad("a member of " + t.name + " is not an object");
        auto name = string_member(m, "name", "a member of " + t.name);
        if (!name) return tl::unexpected(name.error());
        auto type = string_member(m, "type", "member " + *name + " of " + t.name);
        if (!type) return tl::unexpected(type.error());
        t.members.push_back(member{std::move(*name), std::move(*type), nullptr, m.contains("default")});
    }
    if (const json* tag = member_of(entry, "tag"); tag != nullptr && tag->is_string()) {
        t.tag = tag->get<std::string>();
        const json* variants = member_of(entry, "variants");
        if (variants == nullptr || !variants->is_array()) return bad("union " + t.name + " has no \"variants\" array");
        for (const json& v : *variants) {
            if (!v.is_object()) return bad("a variant of " + t.name + " is not an object");
            auto c = string_member(v, "case", "a variant of " + t.name);
            if (!c) return tl::unexpected(c.error());
            auto type = string_member(v, "type", "variant " + *c + " of " + t.name);
            if (!type) return tl::unexpected(type.error());
            t.cases.push_back(std::move(*c));
            t.case_types.push_back(std::move(*type));
        }
    }
    return {};
}

tl::expected<type_node, error> read_entry(const json& entry) {
    if (!entry.is_object()) return bad("an entry is not an object");
    type_node t;
    auto name = string_member(entry, "name", "an entry");
    if (!name) return tl::unexpected(name.error());
    t.name = std::move(*name);
    auto kind = string_member(entry, "meta-type", t.name);
    if (!kind) return tl::unexpected(kind.error());
    t.features = strings_of(member_of(entry, "features"));
    if (*kind == "builtin") {
        t.kind = meta::builtin;
        auto jt = string_member(entry, "json-type", t.name);
        if (!jt) return tl::unexpected(jt.error());
        t.json_type = std::move(*jt);
    } else if (*kind == "enum") {
        t.kind = meta::enumeration;
        t.values = strings_of(member_of(entry, "values"));
        if (t.values.empty()) {  // newer QEMUs also list them as members [{"name":…}]
            if (const json* ms = member_of(entry, "members"); ms != nullptr && ms->is_array()) {
                for (const json& m : *ms) {
                    if (m.is_object() && m.contains("name") && m["name"].is_string()) t.values.push_back(m["name"]);
                }
            }
        }
    } else if (*kind == "object") {
        t.kind = meta::object;
        if (auto r = read_object(entry, t); !r) return tl::unexpected(r.error());
    } else if (*kind == "array") {
        t.kind = meta::array;
        auto e = string_member(entry, "element-type", t.name);
        if (!e) return tl::unexpected(e.error());
        t.element_name = std::move(*e);
    } else if (*kind == "alternate") {
        t.kind = meta::alternate;
        const json* members = member_of(entry, "members");
        if (members == nullptr || !members->is_array()) return bad("alternate " + t.name + " has no \"members\" array");
        for (const json& m : *members) {
            if (!m.is_object()) return bad("a branch of " + t.name + " is not an object");
            auto type = string_member(m, "type", "a branch of " + t.name);
            if (!type) return tl::unexpected(type.error());
            t.alternative_names.push_back(std::move(*type));
        }
    } else if (*kind == "command" || *kind == "event") {
        t.kind = *kind == "command" ? meta::command : meta::event;
        auto arg = string_member(entry, "arg-type", t.name);
        if (!arg) return tl::unexpected(arg.error());
        t.arg_name = std::move(*arg);
        if (t.kind == meta::command) {
            auto ret = string_member(entry, "ret-type", t.name);
            if (!ret) return tl::unexpected(ret.error());
            t.ret_name = std::move(*ret);
            const json* oob = member_of(entry, "allow-oob");
            t.allow_oob = oob != nullptr && oob->is_boolean() && oob->get<bool>();
        }
    } else {
        return bad(t.name + " has the unknown meta-type " + *kind);
    }
    return t;
}

}  // namespace

const type_node* model::find(std::string_view name) const {
    auto it = entities.find(name);
    return it == entities.end() ? nullptr : &it->second;
}

const type_node* model::command(std::string_view name) const {
    const type_node* t = find(name);
    return t != nullptr && t->kind == meta::command ? t : nullptr;
}

const type_node* model::event(std::string_view name) const {
    const type_node* t = find(name);
    return t != nullptr && t->kind == meta::event ? t : nullptr;
}

tl::expected<model, error> load_model(const json& entries) {
    if (!entries.is_array()) return bad("the schema is not an array");
    model m;
    for (const json& entry : entries) {
        auto t = read_entry(entry);
        if (!t) return tl::unexpected(t.error());
        std::string name = t->name;
        if (!m.entities.emplace(std::move(name), std::move(*t)).second) return bad(entry["name"].get<std::string>() + " is defined twice");
    }
    // Link every reference; the types being referred to must be types, not commands or events.
    auto link = [&m](const std::string& name, const std::string& user) -> tl::expected<const type_node*, error> {
        const type_node* t = m.find(name);
        if (t == nullptr || t->kind == meta::command || t->kind == meta::event) {
            return bad("type " + name + " (used by " + user + ") is not defined");
        }
        return t;
    };
    for (auto& [name, t] : m.entities) {
        for (member& mb : t.members) {
            auto r = link(mb.type_name, name);
            if (!r) return tl::unexpected(r.error());
            mb.type = *r;
        }
        for (const std::string& c : t.case_types) {
            auto r = link(c, name);
            if (!r) return tl::unexpected(r.error());
            t.case_nodes.push_back(*r);
        }
        if (t.kind == meta::array) {
            auto r = link(t.element_name, name);
            if (!r) return tl::unexpected(r.error());
            t.element = *r;
        }
        for (const std::string& a : t.alternative_names) {
            auto r = link(a, name);
            if (!r) return tl::unexpected(r.error());
            t.alternatives.push_back(*r);
        }
        if (t.kind == meta::command || t.kind == meta::event) {
            auto r = link(t.arg_name, name);
            if (!r) return tl::unexpected(r.error());
            t.arg_type = *r;
        }
        if (t.kind == meta::command) {
            auto r = link(t.ret_name, name);
            if (!r) return tl::unexpected(r.error());
            t.ret_type = *r;
        }
    }
    return m;
}

model builtin_model(const std::vector<std::string>& capabilities) {
    json values = json::array({"oob"});
    for (const std::string& c : capabilities) {
        if (c != "oob") values.push_back(c);
    }
    const json entries = json::array({
        {{"name", "qmp_capabilities"}, {"meta-type", "command"}, {"arg-type", "qmp_capabilities-arg"}, {"ret-type", "0"}},
        {{"name", "query-version"}, {"meta-type", "command"}, {"arg-type", "0"}, {"ret-type", "VersionInfo"}},
        {{"name", "0"}, {"meta-type", "object"}, {"members", json::array()}},
        {{"name", "qmp_capabilities-arg"},
         {"meta-type", "object"},
         {"members", json::array({{{"name", "enable"}, {"default", nullptr}, {"type", "[QMPCapability]"}}})}},
        {{"name", "[QMPCapability]"}, {"meta-type", "array"}, {"element-type", "QMPCapability"}},
        {{"name", "QMPCapability"}, {"meta-type", "enum"}, {"values", values}},
        {{"name", "VersionInfo"},
         {"meta-type", "object"},
         {"members", json::array({{{"name", "qemu"}, {"type", "VersionTriple"}}, {{"name", "package"}, {"type", "str"}}})}},
        {{"name", "VersionTriple"},
         {"meta-type", "object"},
         {"members", json::array({{{"name", "major"}, {"type", "int"}},
                                  {{"name", "minor"}, {"type", "int"}},
                                  {{"name", "micro"}, {"type", "int"}}})}},
        {{"name", "str"}, {"meta-type", "builtin"}, {"json-type", "string"}},
        {{"name", "int"}, {"meta-type", "builtin"}, {"json-type", "int"}},
    });
    auto loaded = load_model(entries);
    return std::move(*loaded);  // our own entries always load
}

// --- QEMU's input visitor --------------------------------------------------------------------
//
// Wordings, each checked against QEMU 7.2 (the schema tests hold the recordings):
//   Parameter 'X' is missing                         X: the full name, e.g. capabilities[0].capability
//   Parameter 'X' is unexpected                      the first unvisited key in GLib's hash order
//   Invalid parameter type for 'X', expected: T      T: string integer number boolean null object array
//   Parameter 'X' does not accept value 'V'          enums; X is the member's own name, "null" in a list
// Where the schema cannot tell what QEMU knows, qwire accepts or words it differently:
//   - "int" covers QEMU's int8…uint64 and size: every JSON integer is accepted, and a
//     non-integer gets the int64 wording (QEMU says "Parameter 'X' expects uint64" for unsigned
//     members, and checks ranges qwire cannot know);
//   - an alternate no branch accepts: QEMU names the alternate's QAPI type (e.g. BlockdevRef),
//     which query-qmp-schema hides; qwire names the JSON types of its branches instead.
namespace {

template <class Json>
class input_visitor {
public:
    std::optional<std::string> failure;

    bool visit_arguments(const type_node* t, const Json& arguments) { return visit_object(t, std::nullopt, arguments); }

private:
    using name_t = std::optional<std::string_view>;

    struct frame {
        bool is_list = false;
        name_t name;
        std::size_t index = static_cast<std::size_t>(-1);
        const Json* dict = nullptr;
        std::vector<std::string_view> keys;  // QDict order
        std::vector<std::size_t> removed;    // indices into keys, in visit order
    };

    std::vector<frame> stack_;

    // QEMU's full_name(): the path of `name` through the containers being visited.
    std::string full_name(name_t name) const {
        std::string path;
        for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
            if (it->is_list) {
                path.insert(0, "[" + std::to_string(it->index) + "]");
            } else {
                path.insert(0, "." + std::string(name ? *name : "<anonymous>"));
            }
            name = it->name;
        }
        if (name) return std::string(*name) + path;
        if (!path.empty() && path[0] == '.') return path.substr(1);
        if (path.empty()) return "<anonymous>";
        return path;
    }

    bool fail(std::string desc) {
        failure = std::move(desc);
        return false;
    }

    bool type_error(name_t name, const char* expected) {
        return fail("Invalid parameter type for '" + full_name(name) + "', expected: " + expected);
    }

    void consume(std::string_view key) {
        frame& f = stack_.back();
        for (std::size_t i = 0; i < f.keys.size(); ++i) {
            if (f.keys[i] == key) {
                f.removed.push_back(i);
                return;
            }
        }
    }

    static std::string describe_branches(const type_node* t) {
        std::string out;
        for (const type_node* a : t->alternatives) {
            std::string what;
            switch (a->kind) {
                case meta::object: what = "object"; break;
                case meta::array: what = "array"; break;
                case meta::enumeration: what = "string"; break;
                default:
                    what = a->json_type == "int" ? "integer" : a->json_type == "boolean" ? "boolean" : a->json_type;
            }
            if (out.find(what) != std::string::npos) continue;
            if (!out.empty()) out += " or ";
            out += what;
        }
        return out;
    }

    bool visit_value(const type_node* t, name_t name, const Json& v) {
        switch (t->kind) {
            case meta::builtin:
                if (t->json_type == "string" && !v.is_string()) return type_error(name, "string");
                if (t->json_type == "int" && !(v.is_number_integer() || v.is_number_unsigned())) {
                    return type_error(name, "integer");
                }
                if (t->json_type == "number" && !v.is_number()) return type_error(name, "number");
                if (t->json_type == "boolean" && !v.is_boolean()) return type_error(name, "boolean");
                if (t->json_type == "null" && !v.is_null()) return type_error(name, "null");
                return true;
            case meta::enumeration: {
                if (!v.is_string()) return type_error(name, "string");
                const auto& s = v.template get_ref<const typename Json::string_t&>();
                for (const std::string& value : t->values) {
                    if (value == s) return true;
                }
                return fail("Parameter '" + std::string(name ? *name : "null") + "' does not accept value '" + s + "'");
            }
            case meta::array: {
                if (!v.is_array()) return type_error(name, "array");
                stack_.push_back(frame{true, name, static_cast<std::size_t>(-1), nullptr, {}, {}});
                bool ok = true;
                for (const auto& e : v) {
                    ++stack_.back().index;
                    if (!(ok = visit_value(t->element, std::nullopt, e))) break;
                }
                stack_.pop_back();
                return ok;
            }
            case meta::object: return visit_object(t, name, v);
            case meta::alternate: {
                const type_node* branch = resolve_alternate(t, v);
                if (branch == nullptr) {
                    return fail("Invalid parameter type for '" + std::string(name ? *name : "null") +
                                "', expected: " + describe_branches(t));
                }
                return visit_value(branch, name, v);
            }
            default: return true;
        }
    }

    bool visit_object(const type_node* t, name_t name, const Json& v) {
        if (!v.is_object()) return type_error(name, "object");
        frame f;
        f.name = name;
        f.dict = &v;
        std::vector<std::string_view> inserted;
        inserted.reserve(v.size());
        for (auto it = v.begin(); it != v.end(); ++it) inserted.push_back(it.key());
        for (std::size_t i : qemu::qdict_order(inserted)) f.keys.push_back(inserted[i]);
        stack_.push_back(std::move(f));
        const bool ok = visit_members(t, v, 0) && check_struct();
        stack_.pop_back();
        return ok;
    }

    bool visit_members(const type_node* t, const Json& v, std::size_t depth) {
        if (t == nullptr || t->kind != meta::object || depth > 64) return true;
        for (const member& m : t->members) {
            auto it = v.find(m.name);
            if (it == v.end()) {
                if (m.optional) continue;
                return fail("Parameter '" + full_name(std::string_view(m.name)) + "' is missing");
            }
            consume(m.name);
            if (!visit_value(m.type, std::string_view(m.name), *it)) return false;
        }
        if (t->tag.empty()) return true;
        auto tag = v.find(t->tag);
        if (tag == v.end() || !tag->is_string()) return true;
        const auto& value = tag->template get_ref<const typename Json::string_t&>();
        for (std::size_t i = 0; i < t->cases.size(); ++i) {
            if (t->cases[i] == value) return visit_members(t->case_nodes[i], v, depth + 1);
        }
        return true;
    }

    bool check_struct() {
        const frame& f = stack_.back();
        const auto first = qemu::glib_first_remaining(f.keys, f.removed);
        if (!first) return true;
        return fail("Parameter '" + full_name(f.keys[*first]) + "' is unexpected");
    }
};

}  // namespace

template <class Json>
std::optional<std::string> check_arguments(const type_node* arg_type, const Json& arguments) {
    input_visitor<Json> visitor;
    if (!visitor.visit_arguments(arg_type, arguments)) return visitor.failure;
    return std::nullopt;
}

template std::optional<std::string> check_arguments<json>(const type_node*, const json&);
template std::optional<std::string> check_arguments<nlohmann::ordered_json>(const type_node*,
                                                                           const nlohmann::ordered_json&);

}  // namespace qwire::qmp::detail
