// What people type in `qwire shell` and `qwire exec`, turned into commands.
#include "command_line.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using qwire::tool::parse_command_line;
using qwire::tool::parse_command_words;
using qwire::tool::parsed_command;
using qwire::tool::split_words;

namespace {

parsed_command ok(std::string_view line) {
    auto r = parse_command_line(line);
    INFO(line << " -> " << (r ? "" : r.error()));
    REQUIRE(r);
    return *r;
}

std::string bad(std::string_view line) {
    auto r = parse_command_line(line);
    INFO(line);
    REQUIRE_FALSE(r);
    return r.error();
}

}  // namespace

TEST_CASE("words split on blanks but not inside quotes or brackets") {
    CHECK(split_words("  a  b\tc ").value() == std::vector<std::string>{"a", "b", "c"});
    CHECK(split_words(R"(x="a b" y='c d' z={"k": [1, 2]} w=[1, {"a": "]"}])").value() ==
          std::vector<std::string>{R"(x="a b")", "y='c d'", R"(z={"k": [1, 2]})", R"(w=[1, {"a": "]"}])"});
    CHECK(split_words(R"(x="a \" b")").value() == std::vector<std::string>{R"(x="a \" b")"});
    CHECK(split_words("").value().empty());
    CHECK(split_words(R"(x="abc)").error() == "unterminated \" in 'x=\"abc'");
    CHECK(split_words("x={\"a\": 1").error() == "unclosed { in 'x={\"a\": 1'");
    CHECK(split_words("x=]").error() == "unbalanced ] in 'x=]'");
}

TEST_CASE("a name alone has no arguments") {
    CHECK(ok("query-status") == parsed_command{"query-status", nullptr, false, std::nullopt});
    CHECK(ok("  query-status  ").name == "query-status");
}

TEST_CASE("values are JSON where they parse, strings otherwise") {
    auto c = ok(R"(cmd n=42 f=1.5 t=true z=null s=hello q="two words" sq='single q' o={"a":[1]} l=[1,"x"] e= neg=-3)");
    CHECK(c.arguments == json{{"n", 42}, {"f", 1.5}, {"t", true}, {"z", nullptr}, {"s", "hello"},
                              {"q", "two words"}, {"sq", "single q"}, {"o", {{"a", {1}}}},
                              {"l", {1, "x"}}, {"e", ""}, {"neg", -3}});
    CHECK(ok("cmd path=/dev/null").arguments == json{{"path", "/dev/null"}});
    CHECK(ok("cmd v=1.2.3").arguments == json{{"v", "1.2.3"}});
    CHECK(ok("cmd v=a=b").arguments == json{{"v", "a=b"}});
}

TEST_CASE("dotted keys nest objects") {
    auto c = ok("blockdev-add driver=qcow2 node-name=n file.driver=file file.filename=/tmp/x file.aio.mode=1");
    CHECK(c.arguments == json{{"driver", "qcow2"}, {"node-name", "n"},
                              {"file", {{"driver", "file"}, {"filename", "/tmp/x"}, {"aio", {{"mode", 1}}}}}});
}

TEST_CASE("mistakes are named in one line") {
    CHECK(bad("") == "empty command");
    CHECK(bad("   ") == "empty command");
    CHECK(bad("cmd novalue") == "expected key=value, got 'novalue'");
    CHECK(bad("cmd =1") == "empty key in '=1'");
    CHECK(bad("cmd a..b=1") == "empty key in 'a..b=1'");
    CHECK(bad("cmd a=1 a=2") == "'a' is given twice");
    CHECK(bad("cmd a=1 a.b=2") == "'a' is both a value and an object");
    CHECK(bad("cmd a.b=2 a=1") == "'a' is given twice");
    CHECK(bad("cmd x=\"open") == "unterminated \" in 'x=\"open'");
}

TEST_CASE("raw JSON is taken whole") {
    auto c = ok(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})");
    CHECK(c == parsed_command{"qmp_capabilities", json{{"enable", {"oob"}}}, false, std::nullopt});
    auto o = ok(R"({"exec-oob": "migrate-pause", "id": "p1"})");
    CHECK(o == parsed_command{"migrate-pause", nullptr, true, json("p1")});
    CHECK(bad(R"({"execute": "x")") .starts_with("not JSON: "));
    CHECK(bad(R"({"arguments": {}})") == "a JSON command needs \"execute\" or \"exec-oob\" with a name");
    CHECK(bad(R"({"execute": 3})") == "a JSON command needs \"execute\" or \"exec-oob\" with a name");
    CHECK(bad(R"({"execute": "x", "arguments": [1]})") == "\"arguments\" must be an object");
}

TEST_CASE("exec's words: key=value or one JSON object") {
    CHECK(parse_command_words({"stop"}).value() == parsed_command{"stop", nullptr, false, std::nullopt});
    CHECK(parse_command_words({"human-monitor-command", "command-line=info registers"}).value().arguments ==
          json{{"command-line", "info registers"}});
    CHECK(parse_command_words({"qom-list", R"({"path": "/machine"})"}).value().arguments == json{{"path", "/machine"}});
    CHECK(parse_command_words({"qom-list", "[1]"}).error() == "expected key=value, got '[1]'");
    CHECK(parse_command_words({"qom-list", "{bad"}).error().starts_with("not JSON: "));
    CHECK(parse_command_words({}).error() == "empty command");
}
