// qwire::qmp::schema from the recorded query-qmp-schema reply: lookups and checking arguments
// with QEMU's wording. Every "QEMU 7.2" text below was recorded from qemu-system-x86_64 7.2.22
// (-machine none) answering the same command and arguments.
#include "server_harness.hpp"

namespace qwire::test {
namespace {

using json = nlohmann::json;

struct validation_case {
    const char* command;
    json arguments;
    std::string qemu_desc;  // empty: QEMU runs the command
};

// QEMU 7.2's answers.
const std::vector<validation_case>& qemu_cases() {
    static const std::vector<validation_case> cases = {
        {"human-monitor-command", {{"command-line", "info version"}, {"cpu-index", "a"}},
         "Invalid parameter type for 'cpu-index', expected: integer"},
        {"human-monitor-command", {{"command-line", "info version"}, {"cpu-index", 1.5}},
         "Invalid parameter type for 'cpu-index', expected: integer"},
        {"human-monitor-command", json::object(), "Parameter 'command-line' is missing"},
        {"human-monitor-command", {{"command-line", 42}}, "Invalid parameter type for 'command-line', expected: string"},
        {"human-monitor-command", {{"command-line", nullptr}}, "Invalid parameter type for 'command-line', expected: string"},
        {"human-monitor-command", {{"command-line", "info version"}}, ""},
        {"query-version", {{"foo", 1}}, "Parameter 'foo' is unexpected"},
        {"stop", {{"now", true}}, "Parameter 'now' is unexpected"},
        {"set-action", {{"reboot", "bogus"}}, "Parameter 'reboot' does not accept value 'bogus'"},
        {"set-action", {{"reboot", 5}}, "Invalid parameter type for 'reboot', expected: string"},
        {"migrate-set-capabilities", {{"capabilities", json::array({json::object()})}},
         "Parameter 'capabilities[0].capability' is missing"},
        {"migrate-set-capabilities",
         {{"capabilities", {{{"capability", "xbzrle"}, {"state", true}}, {{"capability", "bogus"}, {"state", true}}}}},
         "Parameter 'capability' does not accept value 'bogus'"},
        {"migrate-set-capabilities", {{"capabilities", {{{"capability", "xbzrle"}, {"state", 1}}}}},
         "Invalid parameter type for 'capabilities[0].state', expected: boolean"},
        {"migrate-set-capabilities", {{"capabilities", {{{"capability", "xbzrle"}, {"state", true}, {"x", 1}}}}},
         "Parameter 'capabilities[0].x' is unexpected"},
        {"migrate-set-capabilities", {{"capabilities", json::object()}},
         "Invalid parameter type for 'capabilities', expected: array"},
        {"migrate-set-capabilities", {{"capabilities", {5}}},
         "Invalid parameter type for 'capabilities[0]', expected: object"},
        {"qmp_capabilities", {{"enable", {"foo"}}}, "Parameter 'null' does not accept value 'foo'"},
        {"qmp_capabilities", {{"enable", "oob"}}, "Invalid parameter type for 'enable', expected: array"},
        {"blockdev-add", {{"driver", "bogus"}, {"node-name", "n"}}, "Parameter 'driver' does not accept value 'bogus'"},
        {"blockdev-add", {{"node-name", "n"}}, "Parameter 'driver' is missing"},
        {"blockdev-add", {{"driver", "raw"}, {"node-name", "n"}, {"file", {{"driver", "file"}}}},
         "Parameter 'file.filename' is missing"},
        {"blockdev-add",
         {{"driver", "raw"}, {"node-name", "n"}, {"file", {{"driver", "file"}, {"filename", "/x"}, {"aio", "bogus"}}}},
         "Parameter 'aio' does not accept value 'bogus'"},
        {"object-add", {{"qom-type", "bogus"}, {"id", "m"}}, "Parameter 'qom-type' does not accept value 'bogus'"},
        {"balloon", {{"value", -1}}, ""},
        {"qom-set", {{"path", "/machine"}, {"property", "x"}, {"value", {1, {{"a", nullptr}}}}}, ""},
        {"device_add", {{"driver", "x"}, {"foo", 1}}, ""},
        // Several unexpected members: QEMU names the first in GLib's hash table order.
        {"query-version", {{"b", 1}, {"a", 2}, {"c", 3}}, "Parameter 'b' is unexpected"},
        {"query-version",
         {{"beta", 1}, {"q", 1}, {"gamma", 1}, {"alpha", 1}, {"x1", 1}, {"c", 1}, {"mem", 1}, {"node-name", 1}, {"x2", 1},
          {"size", 1}},
         "Parameter 'gamma' is unexpected"},
        {"query-version",
         {{"baz", 1}, {"foo", 1}, {"q", 1}, {"driver", 1}, {"bar", 1}, {"b", 1}, {"node-name", 1}, {"mem", 1}, {"cpu", 1},
          {"size", 1}, {"a", 1}, {"x1", 1}},
         "Parameter 'bar' is unexpected"},
        {"query-version",
         {{"delta", 1}, {"baz", 1}, {"a", 1}, {"alpha", 1}, {"c", 1}, {"beta", 1}, {"q", 1}, {"foo", 1}, {"mem", 1},
          {"driver", 1}},
         "Parameter 'a' is unexpected"},
        {"query-version", {{"q", 1}, {"size", 1}, {"delta", 1}}, "Parameter 'size' is unexpected"},
        {"query-version",
         {{"c", 1}, {"node-name", 1}, {"size", 1}, {"x2", 1}, {"driver", 1}, {"a", 1}, {"b", 1}, {"r", 1}, {"zz", 1},
          {"x1", 1}, {"cpu", 1}},
         "Parameter 'b' is unexpected"},
        {"query-version", {{"mem", 1}, {"c", 1}, {"a", 1}, {"beta", 1}, {"x1", 1}, {"foo", 1}, {"alpha", 1}},
         "Parameter 'alpha' is unexpected"},
        {"human-monitor-command", {{"command-line", "x"}, {"zz", 1}, {"a", 1}, {"cpu-index", 0}},
         "Parameter 'a' is unexpected"},
    };
    return cases;
}

}  // namespace

TEST_CASE("qmp schema loads the recorded query-qmp-schema reply") {
    auto s = corpus_schema();
    if (!s) QWIRE_SKIP("the corpus is missing");
    CHECK(s->command_names().size() == 216);
    CHECK(s->event_names().size() == 52);
    CHECK(s->has_command("query-status"));
    CHECK_FALSE(s->has_command("STOP"));
    CHECK_FALSE(s->has_command("no-such-command"));

    const auto hmc = s->command("human-monitor-command");
    REQUIRE(hmc);
    CHECK(hmc->arguments == std::vector<qmp::argument_info>{{"command-line", "str", false}, {"cpu-index", "int", true}});
    CHECK(hmc->ret_type == "str");
    CHECK_FALSE(hmc->allow_oob);
    CHECK(s->command("yank")->allow_oob);
    CHECK(s->command("drive-backup")->features == std::vector<std::string>{"deprecated"});

    const auto caps = s->command("qmp_capabilities");
    REQUIRE(caps);
    const auto list = s->type(caps->arguments.at(0).type);
    REQUIRE(list);
    CHECK(list->meta_type == "array");
    const auto cap = s->type(list->element_type);
    REQUIRE(cap);
    CHECK(cap->meta_type == "enum");
    CHECK(cap->values == std::vector<std::string>{"oob"});
    CHECK(s->type("str")->json_type == "string");
    CHECK_FALSE(s->type("query-status"));

    // A union's arguments depend on its tag.
    auto names = [](const std::vector<qmp::argument_info>& args) {
        std::vector<std::string> out;
        for (const auto& a : args) out.push_back(a.name);
        return out;
    };
    const auto common = names(s->arguments("blockdev-add"));
    const auto raw = names(s->arguments("blockdev-add", {{"driver", "raw"}}));
    CHECK(std::find(common.begin(), common.end(), "driver") != common.end());
    CHECK(std::find(common.begin(), common.end(), "file") == common.end());
    CHECK(std::find(raw.begin(), raw.end(), "file") != raw.end());
    CHECK(raw.size() > common.size());
    CHECK(s->arguments("no-such-command").empty());
}

TEST_CASE("qmp schema checks arguments with QEMU 7.2's wording") {
    auto s = corpus_schema();
    if (!s) QWIRE_SKIP("the corpus is missing");
    for (const auto& c : qemu_cases()) {
        INFO(c.command << " " << c.arguments.dump());
        const auto r = s->validate(c.command, c.arguments);
        if (c.qemu_desc.empty()) {
            CHECK(r);
        } else {
            REQUIRE_FALSE(r);
            CHECK(r.error().code() == errc::command_failed);
            CHECK(r.error().error_class() == "GenericError");
            CHECK(r.error().detail() == c.qemu_desc);
        }
    }
}

TEST_CASE("qmp schema refuses unknown commands and non-object arguments like QEMU") {
    auto s = corpus_schema();
    if (!s) QWIRE_SKIP("the corpus is missing");
    const auto unknown = s->validate("no-such-command", nullptr);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().error_class() == "CommandNotFound");
    CHECK(unknown.error().detail() == "The command no-such-command has not been found");
    const auto bad = s->validate("stop", json::array());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail() == "QMP input member 'arguments' must be an object");
    CHECK(s->validate("stop", nullptr));
    CHECK(s->validate("query-status", json::object()));
}

TEST_CASE("qmp schema words what the schema cannot tell its own way") {
    // QEMU names types and widths query-qmp-schema does not show: it says "expected:
    // BlockdevRef", "Parameter 'size' expects uint64", and refuses 2^64-1 for an int64.
    auto s = corpus_schema();
    if (!s) QWIRE_SKIP("the corpus is missing");
    const auto file = s->validate("blockdev-add", {{"driver", "raw"}, {"node-name", "n"}, {"file", 42}});
    REQUIRE_FALSE(file);
    CHECK(file.error().detail() == "Invalid parameter type for 'file', expected: object or string");
    const auto size = s->validate("object-add", {{"qom-type", "memory-backend-ram"}, {"id", "m"}, {"size", "x"}});
    REQUIRE_FALSE(size);
    CHECK(size.error().detail() == "Invalid parameter type for 'size', expected: integer");
    CHECK(s->validate("balloon", {{"value", 18446744073709551615u}}));
}

TEST_CASE("qmp schema refuses what is not a schema") {
    CHECK(qmp::schema::from_json(42).error().code() == errc::invalid_argument);
    CHECK(qmp::schema::from_json(json::object()).error().code() == errc::invalid_argument);
    CHECK(qmp::schema::parse("not json").error().code() == errc::invalid_argument);
    CHECK(qmp::schema::from_json(json::array({{{"name", "x"}}})).error().code() == errc::invalid_argument);
    const auto dangling = qmp::schema::from_json(
        json::array({{{"name", "c"}, {"meta-type", "command"}, {"arg-type", "missing"}, {"ret-type", "missing"}}}));
    REQUIRE_FALSE(dangling);
    CHECK(dangling.error().detail() == "query-qmp-schema: type missing (used by c) is not defined");
    const auto twice = qmp::schema::from_json(json::array({{{"name", "int"}, {"meta-type", "builtin"}, {"json-type", "int"}},
                                                           {{"name", "int"}, {"meta-type", "builtin"}, {"json-type", "int"}}}));
    REQUIRE_FALSE(twice);
    const auto ok = qmp::schema::from_json(
        {{"return", json::array({{{"name", "0"}, {"meta-type", "object"}, {"members", json::array()}},
                                 {{"name", "c"}, {"meta-type", "command"}, {"arg-type", "0"}, {"ret-type", "0"}}})},
         {"id", 1}});
    REQUIRE(ok);
    CHECK(ok->command_names() == std::vector<std::string>{"c"});
}

}  // namespace qwire::test
