#include "engine/pending_table.hpp"

#include <string>
#include <variant>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using qwire::time_point;
using table = qwire::engine::pending_table<std::string>;
using event = std::variant<std::string, qwire::request_failed, qwire::disconnect>;

TEST_CASE("pending_table: find, take and request order") {
    table t;
    t.insert(3, "c", std::nullopt);
    t.insert(1, "a", std::nullopt);
    t.insert(2, "b", std::nullopt);
    CHECK(t.size() == 3);
    REQUIRE(t.find(2));
    CHECK(*t.find(2) == "b");
    CHECK(t.front()->first == 1);
    CHECK(t.take(1) == "a");
    CHECK_FALSE(t.take(1));
    CHECK(t.find(1) == nullptr);
    std::vector<std::uint64_t> order;
    t.for_each([&](std::uint64_t id, std::string&) { order.push_back(id); });
    CHECK(order == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("pending_table: the earliest deadline, and expiry in request order") {
    const time_point t0{};
    table t;
    CHECK_FALSE(t.next_deadline());
    t.insert(1, "a", t0 + 5s);
    t.insert(2, "b", t0 + 3s);
    t.insert(3, "c", std::nullopt);
    t.insert(4, "d", t0 + 3s);
    CHECK(t.next_deadline() == t0 + 3s);
    CHECK(t.expired(t0 + 2s).empty());
    CHECK(t.expired(t0 + 3s) == std::vector<std::uint64_t>{2, 4});
    CHECK(t.expired(t0 + 10s) == std::vector<std::uint64_t>{1, 2, 4});
    t.take(2);
    t.clear_deadline(4);
    CHECK(t.next_deadline() == t0 + 5s);
    CHECK(t.expired(t0 + 10s) == std::vector<std::uint64_t>{1});
}

TEST_CASE("pending_table: fail_all fails visible requests in order, then disconnects last") {
    table t;
    t.insert(5, "visible", std::nullopt);
    t.insert(2, "hidden", std::nullopt);
    t.insert(9, "visible", qwire::time_point{} + 1s);
    qwire::engine::event_queue<event> events(10, qwire::overflow_policy::drop_oldest);
    events.push(std::string("earlier"));
    const qwire::error reason(qwire::errc::connection_lost, "reset", std::make_error_code(std::errc::connection_reset));
    t.fail_all(events, qwire::errc::connection_lost, reason, [](const std::string& s) { return s == "visible"; });
    CHECK(t.empty());
    CHECK_FALSE(t.next_deadline());
    CHECK(std::get<std::string>(*events.pop()) == "earlier");
    auto first = std::get<qwire::request_failed>(*events.pop());
    CHECK(first.id.value == 5);
    CHECK(first.error.code() == qwire::errc::connection_lost);
    CHECK(first.error.cause() == std::errc::connection_reset);
    CHECK(std::get<qwire::request_failed>(*events.pop()).id.value == 9);
    CHECK(std::get<qwire::disconnect>(*events.pop()).reason == reason);
    CHECK_FALSE(events.pop());
    CHECK(events.closed());
}
