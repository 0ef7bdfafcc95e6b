// qwire::qmp::schema — see the header. The checking itself lives in schema_model.cpp.
#include "qwire/qmp/schema.hpp"

#include <algorithm>

#include "qmp/schema_model.hpp"

namespace qwire::qmp {
namespace {

using json = nlohmann::json;

std::vector<argument_info> describe(const std::vector<const detail::member*>& members) {
    std::vector<argument_info> out;
    out.reserve(members.size());
    for (const detail::member* m : members) out.push_back(argument_info{m->name, m->type_name, m->optional});
    return out;
}

std::vector<argument_info> describe(const std::vector<detail::member>& members) {
    std::vector<const detail::member*> pointers;
    for (const detail::member& m : members) pointers.push_back(&m);
    return describe(pointers);
}

const char* meta_name(detail::meta m) {
    switch (m) {
        case detail::meta::builtin: return "builtin";
        case detail::meta::enumeration: return "enum";
        case detail::meta::object: return "object";
        case detail::meta::array: return "array";
        case detail::meta::alternate: return "alternate";
        case detail::meta::command: return "command";
        case detail::meta::event: return "event";
    }
    return "";
}

std::vector<std::string> names_of(const detail::model& m, detail::meta kind) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.entities) {
        if (t.kind == kind) out.push_back(name);
    }
    return out;  // std::map: already sorted
}

}  // namespace

tl::expected<schema, error> schema::from_json(const json& reply) {
    const json* entries = &reply;
    if (reply.is_object()) {
        auto ret = reply.find("return");
        if (ret == reply.end()) return tl::unexpected(error(errc::invalid_argument, "query-qmp-schema: no \"return\" member"));
        entries = &*ret;
    }
    auto loaded = detail::load_model(*entries);
    if (!loaded) return tl::unexpected(loaded.error());
    return schema(std::make_shared<const detail::model>(std::move(*loaded)));
}

tl::expected<schema, error> schema::parse(std::string_view text) {
    json value = json::parse(text.begin(), text.end(), nullptr, false);
    if (value.is_discarded()) return tl::unexpected(error(errc::invalid_argument, "query-qmp-schema: not JSON"));
    return from_json(value);
}

std::vector<std::string> schema::command_names() const { return names_of(*model_, detail::meta::command); }

std::vector<std::string> schema::event_names() const { return names_of(*model_, detail::meta::event); }

bool schema::has_command(std::string_view name) const { return model_->command(name) != nullptr; }

std::optional<command_info> schema::command(std::string_view name) const {
    const detail::type_node* c = model_->command(name);
    if (c == nullptr) return std::nullopt;
    command_info info;
    info.name = c->name;
    info.arguments = describe(c->arg_type->members);
    info.arg_type = c->arg_name;
    info.ret_type = c->ret_name;
    info.allow_oob = c->allow_oob;
    info.features = c->features;
    return info;
}

std::vector<argument_info> schema::arguments(std::string_view command, const json& given) const {
    const detail::type_node* c = model_->command(command);
    if (c == nullptr) return {};
    return describe(detail::members_of(c->arg_type, given).members);
}

std::optional<type_info> schema::type(std::string_view name) const {
    const detail::type_node* t = model_->find(name);
    if (t == nullptr || t->kind == detail::meta::command || t->kind == detail::meta::event) return std::nullopt;
    type_info info;
    info.name = t->name;
    info.meta_type = meta_name(t->kind);
    info.json_type = t->json_type;
    info.values = t->values;
    info.members = describe(t->members);
    info.tag = t->tag;
    for (std::size_t i = 0; i < t->cases.size(); ++i) info.variants.emplace_back(t->cases[i], t->case_types[i]);
    info.element_type = t->element_name;
    info.alternatives = t->alternative_names;
    return info;
}

tl::expected<void, error> schema::validate(std::string_view command, const json& arguments) const {
    const detail::type_node* c = model_->command(command);
    if (c == nullptr) {
        return tl::unexpected(error::from_reply("CommandNotFound", "The command " + std::string(command) + " has not been found"));
    }
    if (!arguments.is_null() && !arguments.is_object()) {
        return tl::unexpected(error::from_reply("GenericError", "QMP input member 'arguments' must be an object"));
    }
    if (detail::unchecked_arguments(command)) return {};
    const json none = json::object();
    if (auto problem = detail::check_arguments(c->arg_type, arguments.is_null() ? none : arguments)) {
        return tl::unexpected(error::from_reply("GenericError", std::move(*problem)));
    }
    return {};
}

}  // namespace qwire::qmp
