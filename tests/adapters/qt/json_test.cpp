// qwire/qt/json.hpp: QJsonValue <-> nlohmann::json, on recorded QEMU replies and edge cases.
#include <QtCore/QJsonDocument>

#include <cmath>
#include <limits>

#include "qt_testing.hpp"
#include "qwire/framing/json_framer.hpp"

using json = nlohmann::json;
using qwire::qt::toJson;
using qwire::qt::toQJsonValue;

namespace {

// Every top-level JSON value of a corpus file.
std::vector<std::string> corpus_values(const std::string& name) {
    const auto bytes = qwire::test::corpus_file("qmp/" + name);
    REQUIRE(bytes);
    qwire::json_framer framer;
    REQUIRE(framer.feed(*bytes));
    std::vector<std::string> values;
    for (auto r = framer.next(); r.status != qwire::frame_status::need_more; r = framer.next()) {
        REQUIRE(r.status == qwire::frame_status::frame);
        values.emplace_back(r.frame);
    }
    return values;
}

// Round-trips `value` and every value nested in it; returns how many it checked.
std::size_t check_round_trip(const json& value) {
    std::size_t checked = 1;
    const json back = toJson(toQJsonValue(value));
    if (back != value) {
        INFO("value: " << value.dump() << "\ncame back as: " << back.dump());
        CHECK(back == value);
    }
    if (value.is_structured()) {
        for (const auto& element : value) checked += check_round_trip(element);
    }
    return checked;
}

json round_trip(const json& value) { return toJson(toQJsonValue(value)); }

}  // namespace

TEST_CASE("qt json: every value of 06_query_commands.s2c round-trips, and Qt's parser agrees") {
    const auto values = corpus_values("06_query_commands.s2c");
    REQUIRE(values.size() == 3);  // greeting, capabilities, the command list
    std::size_t checked = 0;
    for (const auto& text : values) {
        const json parsed = json::parse(text);
        checked += check_round_trip(parsed);
        // Qt's own parser of the same text gives the same value once converted.
        QJsonParseError status{};
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(text), &status);
        REQUIRE(status.error == QJsonParseError::NoError);
        CHECK(toJson(doc.object()) == parsed);
        CHECK(toQJsonValue(parsed) == QJsonValue(doc.object()));
    }
    CHECK(checked > 400);  // about 220 commands, each an object holding a name
}

TEST_CASE("qt json: every value of the other QMP recordings round-trips") {
    for (const auto& name : {"04_query_status.s2c", "05_query_version.s2c", "07_query_qmp_schema.s2c",
                             "08_unknown_command.s2c", "40_events_pc.s2c", "50_qsd_session.s2c",
                             "60_pretty_session.s2c"}) {
        INFO(name);
        for (const auto& text : corpus_values(name)) (void)check_round_trip(json::parse(text));
    }
}

TEST_CASE("qt json: scalars at their limits") {
    constexpr auto int_min = std::numeric_limits<std::int64_t>::min();
    constexpr auto int_max = std::numeric_limits<std::int64_t>::max();
    for (const json& v : {json(nullptr), json(true), json(false), json(0), json(-1), json(int_min), json(int_max),
                          json(std::uint64_t{int_max}), json(0.5), json(-1e300), json(1e-300), json(""),
                          json("\u00e9\u6f22\U0001F600 \"quoted\"\n\t\\"), json(std::string("nul\0inside", 10)),
                          json::array(), json::object(), json::parse(R"({"a":[1,[2,[3,{}]]],"b":{"c":null}})")}) {
        INFO(v.dump());
        CHECK(round_trip(v) == v);
    }
    // All 64 bits of integers survive, both ways.
    CHECK(toQJsonValue(json(int_max)).toInteger() == int_max);
    CHECK(round_trip(json(int_min)).get<std::int64_t>() == int_min);
    CHECK(round_trip(json(int_max - 1)).is_number_integer());
    // Integral doubles come back as integers (Qt stores them so), equal under ==.
    CHECK(round_trip(json(2.0)).is_number_integer());
    CHECK(round_trip(json(2.0)) == json(2.0));
    CHECK(round_trip(json(0.5)).is_number_float());
    // Unsigned integers above 2^63-1 become doubles: QJsonValue cannot hold them.
    const auto big = round_trip(json(std::numeric_limits<std::uint64_t>::max()));
    CHECK(big.is_number_float());
    CHECK(big.get<double>() == 18446744073709551616.0);
    // Not-a-number and infinities (not JSON, but nlohmann holds them) stay doubles.
    CHECK(std::isnan(round_trip(json(std::nan(""))).get<double>()));
    CHECK(round_trip(json(HUGE_VAL)).get<double>() == HUGE_VAL);
}

TEST_CASE("qt json: values only one side has") {
    CHECK(toJson(QJsonValue(QJsonValue::Undefined)).is_null());
    CHECK(toQJsonValue(json::binary({1, 2, 3})).isNull());
    CHECK(qwire::qt::toQJsonObject(json(nullptr)).isEmpty());
    CHECK(qwire::qt::toQJsonObject(json::array({1})).isEmpty());
    // Invalid UTF-8 (which the QMP client never hands out) becomes U+FFFD instead of failing.
    CHECK(toJson(toQJsonValue(json(std::string("a\xff" "b")))) == json("a\xef\xbf\xbd" "b"));
    // Keys are compared as sets on both sides.
    const QJsonObject object{{"z", 1}, {"a", QJsonArray{true, QJsonValue()}}};
    CHECK(toJson(object) == json::parse(R"({"a":[true,null],"z":1})"));
    CHECK(toQJsonValue(toJson(object)) == QJsonValue(object));
}
