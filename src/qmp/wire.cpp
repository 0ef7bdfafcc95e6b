#include "qmp/wire.hpp"

#include <cstdint>

#include "engine/utf8.hpp"
#include "qmp/schema_model.hpp"

namespace qwire::qmp::wire {
namespace {

using json = nlohmann::json;

tl::unexpected<error> bad(std::string detail) {
    return tl::unexpected(error(errc::unexpected_message, std::move(detail)));
}

// An integer that fits std::int64_t (nlohmann keeps large positive numbers unsigned).
bool is_int64(const json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
    return v.is_number_integer();
}

tl::expected<server_message, error> decode_greeting(json& qmp) {
    if (!qmp.is_object()) return bad("greeting: \"QMP\" is not an object");
    auto version = qmp.find("version");
    auto caps = qmp.find("capabilities");
    if (version == qmp.end() || !version->is_object()) return bad("greeting: no \"version\" object");
    if (caps == qmp.end() || !caps->is_array()) return bad("greeting: no \"capabilities\" array");
    greeting g;
    for (const json& c : *caps) {
        if (!c.is_string()) return bad("greeting: a capability is not a string");
        g.capabilities.push_back(c.get<std::string>());
    }
    g.version = std::move(*version);
    return g;
}

tl::expected<server_message, error> decode_event(json& message, json& name) {
    if (!name.is_string()) return bad("\"event\" is not a string");
    event e;
    e.name = name.get<std::string>();
    auto ts = message.find("timestamp");
    if (ts == message.end() || !ts->is_object()) return bad("event " + e.name + " has no \"timestamp\" object");
    auto seconds = ts->find("seconds");
    auto micros = ts->find("microseconds");
    if (seconds == ts->end() || micros == ts->end() || !is_int64(*seconds) || !is_int64(*micros)) {
        return bad("event " + e.name + ": timestamp needs integer seconds and microseconds");
    }
    e.timestamp = {seconds->get<std::int64_t>(), micros->get<std::int64_t>()};
    if (auto data = message.find("data"); data != message.end()) {
        // QEMU's event data is a dictionary; anything else would surprise code reading e.data["x"].
        if (!data->is_object() && !data->is_null()) return bad("event " + e.name + ": \"data\" is not an object");
        e.data = std::move(*data);
    }
    return e;
}

tl::expected<server_message, error> decode_reply(json& message, json* ret, json* err) {
    server_reply r;
    if (auto id = message.find("id"); id != message.end()) r.id = std::move(*id);
    if (ret != nullptr) {
        r.value = std::move(*ret);
        return r;
    }
    if (!err->is_object()) return bad("\"error\" is not an object");
    auto cls = err->find("class");
    auto desc = err->find("desc");
    if (cls == err->end() || !cls->is_string()) return bad("error reply without a string \"class\"");
    if (desc == err->end() || !desc->is_string()) return bad("error reply without a string \"desc\"");
    r.ok = false;
    r.error_class = cls->get<std::string>();
    r.desc = desc->get<std::string>();
    return r;
}

// Appends `text` as a JSON string. Plain ASCII, the usual case for command names, is escaped
// here; anything else goes through nlohmann, which replaces invalid UTF-8.
void append_string(std::string& out, std::string_view text) {
    constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : text) {
        if (c >= 0x80) {
            out += dump(json(text));
            return;
        }
    }
    out += '"';
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

}  // namespace

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string encode_command(std::string_view command, const json& arguments, bool oob, const json* id) {
    std::string out;
    out.reserve(command.size() + 32);
    out += oob ? R"({"exec-oob":)" : R"({"execute":)";
    append_string(out, command);
    if (!arguments.is_null() && !arguments.empty()) {
        out += R"(,"arguments":)";
        out += dump(arguments);
    }
    if (id != nullptr && !id->is_null()) {
        out += R"(,"id":)";
        if (id->is_number_unsigned()) {
            out += std::to_string(id->get<std::uint64_t>());
        } else {
            out += dump(*id);
        }
    }
    out += '}';
    return out;
}

tl::expected<json, error> parse_object(std::string_view frame) {
    json value = json::parse(frame.begin(), frame.end(), nullptr, false);
    if (value.is_discarded()) {
        if (!engine::is_valid_utf8(frame)) return tl::unexpected(error(errc::invalid_utf8, "a message is not valid UTF-8"));
        return tl::unexpected(error(errc::malformed_json, "a message is not valid JSON"));
    }
    if (!value.is_object()) return bad(std::string("a message is a JSON ") + value.type_name() + ", not an object");
    return value;
}

tl::expected<server_message, error> decode_server_message(json&& message) {
    if (auto qmp = message.find("QMP"); qmp != message.end()) return decode_greeting(*qmp);
    if (auto name = message.find("event"); name != message.end()) return decode_event(message, *name);
    auto ret = message.find("return");
    auto err = message.find("error");
    const bool has_ret = ret != message.end();
    const bool has_err = err != message.end();
    if (has_ret && has_err) return bad("a reply has both \"return\" and \"error\"");
    if (has_ret || has_err) return decode_reply(message, has_ret ? &*ret : nullptr, has_err ? &*err : nullptr);
    return bad("a message is neither a greeting, an event nor a reply");
}

// --- server side ------------------------------------------------------------------------------

namespace {

// QEMU's monitor writes the text and a newline, each '\n' becoming CRLF (pretty output spans
// many lines; string values never hold a raw newline).
std::string finish(std::string&& text) {
    std::string out;
    out.reserve(text.size() + 2);
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    out += "\r\n";
    return out;
}

void write_id(qemu::writer& w, const qemu::ordered_json* id) {
    if (id == nullptr) return;
    w.key("id");
    w.value(*id);
}

}  // namespace

// Member order below is QEMU's insertion order; the writer puts members in QDict order.
std::string encode_greeting(const json& version, const std::vector<std::string>& capabilities,
                            const detail::type_node* version_type, bool pretty) {
    qemu::writer w(pretty);
    w.begin_object();
    w.key("QMP");
    w.begin_object();
    w.key("version");
    w.value(version, version_type);
    w.key("capabilities");
    w.value(json(capabilities));
    w.end_object();
    w.end_object();
    return finish(std::move(w.text()));
}

std::string encode_return(const json& value, const detail::type_node* type, const qemu::ordered_json* id, bool pretty) {
    qemu::writer w(pretty);
    w.begin_object();  // "return" (bucket 401) before "id" (486)
    w.key("return");
    w.value(value, type);
    write_id(w, id);
    w.end_object();
    return finish(std::move(w.text()));
}

std::string encode_error(std::string_view error_class, std::string_view desc, const qemu::ordered_json* id, bool pretty) {
    qemu::writer w(pretty);
    w.begin_object();  // "id" (bucket 486) before "error" (489); "class" (211) before "desc" (377)
    write_id(w, id);
    w.key("error");
    w.begin_object();
    w.key("class");
    w.string(error_class);
    w.key("desc");
    w.string(desc);
    w.end_object();
    w.end_object();
    return finish(std::move(w.text()));
}

std::string encode_event(std::string_view name, const json& data, const timestamp& when,
                         const detail::type_node* data_type, bool pretty) {
    qemu::writer w(pretty);
    w.begin_object();  // "timestamp" (bucket 26), "event" (361), "data" (505)
    w.key("timestamp");
    w.begin_object();  // "seconds" (5), "microseconds" (374)
    w.key("seconds");
    w.value(json(when.seconds));
    w.key("microseconds");
    w.value(json(when.microseconds));
    w.end_object();
    w.key("event");
    w.string(name);
    if (!data.is_null()) {
        w.key("data");
        w.value(data, data_type);
    }
    w.end_object();
    return finish(std::move(w.text()));
}

bool is_oob_request(const qemu::ordered_json& request) {
    return request.is_object() && request.contains("exec-oob") && !request.contains("execute");
}

tl::expected<client_command, request_error> decode_client_command(qemu::ordered_json&& request, bool allow_oob) {
    if (!request.is_object()) return tl::unexpected(request_error{std::nullopt, "QMP input must be a JSON object"});
    client_command c;
    if (auto id = request.find("id"); id != request.end()) c.id = *id;
    auto refuse = [&c](std::string desc) { return tl::unexpected(request_error{c.id, std::move(desc)}); };

    std::vector<std::string_view> keys;
    for (auto it = request.begin(); it != request.end(); ++it) keys.push_back(it.key());
    std::optional<std::string_view> exec_key;
    for (std::size_t i : qemu::qdict_order(keys)) {
        const std::string_view key = keys[i];
        const std::string name(key);
        const qemu::ordered_json& value = request[name];
        if (key == "execute" || (key == "exec-oob" && allow_oob)) {
            if (!value.is_string()) return refuse("QMP input member '" + name + "' must be a string");
            if (exec_key) return refuse("QMP input member '" + name + "' clashes with '" + std::string(*exec_key) + "'");
            exec_key = key;
        } else if (key == "arguments") {
            if (!value.is_object()) return refuse("QMP input member 'arguments' must be an object");
        } else if (key != "id") {
            return refuse("QMP input member '" + name + "' is unexpected");
        }
    }
    if (!exec_key) return refuse("QMP input lacks member 'execute'");
    auto execute = request.find("execute");
    c.oob = execute == request.end();
    c.name = (c.oob ? request["exec-oob"] : *execute).get<std::string>();
    auto args = request.find("arguments");
    c.arguments = args == request.end() ? qemu::ordered_json::object() : std::move(*args);
    return c;
}

}  // namespace qwire::qmp::wire
