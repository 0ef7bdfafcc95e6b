// The canned answers of `qwire mock`: parsing, matching, and naming every mistake.
#include "mock_script.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using qwire::tool::mock_answer;
using qwire::tool::mock_script;

TEST_CASE("rules match by name and by the arguments they name, first match wins") {
    auto s = mock_script::from_json(json::parse(R"({
        "replies": [
            {"execute": "device_del", "arguments": {"id": "nic0"},
             "error": {"class": "DeviceNotFound", "desc": "Device 'nic0' not found"}},
            {"execute": "device_del", "return": {}},
            {"execute": "stop", "events": [{"event": "STOP"}], "return": {}, "events_after": [{"event": "X", "data": {"a": 1}}]},
            {"execute": "query-cpus-fast", "times": 1, "return": [{"cpu-index": 0}]},
            {"execute": "query-hostile", "raw": "{[\r\n", "close": true}
        ]})"));
    REQUIRE(s);
    CHECK(s->command_names() == std::vector<std::string>{"device_del", "query-cpus-fast", "query-hostile", "stop"});
    CHECK(s->answer("device_del", {{"id", "nic0"}, {"other", 1}})->error ==
          std::pair<std::string, std::string>{"DeviceNotFound", "Device 'nic0' not found"});
    CHECK(s->answer("device_del", {{"id", "nic1"}})->value == json::object());
    const auto stop = s->answer("stop", json::object());
    REQUIRE(stop);
    CHECK(stop->events_before == std::vector<qwire::tool::mock_event>{{"STOP", nullptr}});
    CHECK(stop->events_after == std::vector<qwire::tool::mock_event>{{"X", {{"a", 1}}}});
    CHECK(s->answer("query-cpus-fast", nullptr)->value == json::parse(R"([{"cpu-index": 0}])"));
    CHECK_FALSE(s->answer("query-cpus-fast", nullptr));  // used up
    const auto hostile = s->answer("query-hostile", nullptr);
    CHECK(hostile->raw == "{[\r\n");
    CHECK(hostile->close);
    CHECK_FALSE(s->answer("query-status", nullptr));
    CHECK(s->version() == std::nullopt);
}

TEST_CASE("the greeting can be scripted") {
    auto s = mock_script::from_json(json::parse(R"({"version": {"qemu": {"major": 9}}, "capabilities": [],
                                                    "events": [{"event": "RESUME"}]})"));
    REQUIRE(s);
    CHECK(s->events_on_ready() == std::vector<qwire::tool::mock_event>{{"RESUME", nullptr}});
    CHECK(s->version() == json::parse(R"({"qemu": {"major": 9}})"));
    CHECK(s->capabilities() == std::vector<std::string>{});
}

TEST_CASE("every mistake in a script is named") {
    const auto error_of = [](const char* text) {
        auto s = mock_script::from_json(json::parse(text));
        REQUIRE_FALSE(s);
        return s.error();
    };
    CHECK(error_of("[]") == "a script must be a JSON object");
    CHECK(error_of(R"({"replys": []})") == "unknown script member \"replys\"");
    CHECK(error_of(R"({"version": 7})") == "\"version\" must be an object");
    CHECK(error_of(R"({"capabilities": [1]})") == "\"capabilities\" must be a list of strings");
    CHECK(error_of(R"({"replies": {}})") == "\"replies\" must be a list");
    CHECK(error_of(R"({"events": [{"event": 1}]})") == "\"events\": each event needs a string \"event\"");
    CHECK(error_of(R"({"replies": [{"return": {}}]})") == "reply 1 needs a string \"execute\"");
    CHECK(error_of(R"({"replies": [{"execute": "a"}]})") == "reply 1 needs exactly one of \"return\", \"error\" or \"raw\"");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "raw": ""}]})") ==
          "reply 1 needs exactly one of \"return\", \"error\" or \"raw\"");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1}, {"execute": "b", "retrun": 1}]})") ==
          "reply 2: unknown member \"retrun\"");
    CHECK(error_of(R"({"replies": [{"execute": "a", "error": {"class": ""}}]})") ==
          "reply 1: \"error\" needs a string \"class\" and \"desc\"");
    CHECK(error_of(R"({"replies": [{"execute": "a", "raw": 5}]})") == "reply 1: \"raw\" must be a string");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "events": [{"data": {}}]}]})") ==
          "reply 1 \"events\": each event needs a string \"event\"");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "events_after": [{"event": "E", "data": 1}]}]})") ==
          "reply 1 \"events_after\": \"data\" must be an object");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "times": -1}]})") == "reply 1: \"times\" must be a count");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "close": 1}]})") == "reply 1: \"close\" must be true or false");
    CHECK(error_of(R"({"replies": [{"execute": "a", "return": 1, "arguments": []}]})") == "reply 1: \"arguments\" must be an object");
}
