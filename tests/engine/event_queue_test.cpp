#include "engine/event_queue.hpp"

#include <string>

#include <catch2/catch.hpp>

using qwire::overflow_policy;
using queue = qwire::engine::event_queue<std::string>;

namespace {
std::vector<std::string> drain(queue& q) {
    std::vector<std::string> out;
    while (auto e = q.pop()) out.push_back(*e);
    return out;
}
}  // namespace

TEST_CASE("event_queue: first in, first out") {
    queue q(10, overflow_policy::drop_oldest);
    q.push("a");
    q.push_droppable("b");
    q.push("c");
    CHECK(q.size() == 3);
    CHECK(drain(q) == std::vector<std::string>{"a", "b", "c"});
    CHECK(q.empty());
}

TEST_CASE("event_queue: drop_oldest drops only droppable events, and counts them") {
    queue q(2, overflow_policy::drop_oldest);
    q.push("reply-1");
    q.push_droppable("e1");
    q.push("reply-2");
    q.push_droppable("e2");
    q.push_droppable("e3");  // drops e1
    q.push_droppable("e4");  // drops e2
    CHECK(q.dropped() == 2);
    CHECK(drain(q) == std::vector<std::string>{"reply-1", "reply-2", "e3", "e4"});
    // Room again once delivered.
    q.push_droppable("e5");
    q.push_droppable("e6");
    CHECK(q.dropped() == 2);
}

TEST_CASE("event_queue: drop_newest keeps what was there") {
    queue q(2, overflow_policy::drop_newest);
    q.push_droppable("e1");
    q.push_droppable("e2");
    q.push_droppable("e3");
    q.push("reply");
    CHECK(q.dropped() == 1);
    CHECK(drain(q) == std::vector<std::string>{"e1", "e2", "reply"});
}

TEST_CASE("event_queue: a limit of zero drops every droppable event") {
    queue q(0, overflow_policy::drop_oldest);
    q.push_droppable("e1");
    q.push("reply");
    CHECK(q.dropped() == 1);
    CHECK(drain(q) == std::vector<std::string>{"reply"});
}

TEST_CASE("event_queue: nothing is accepted after the last event") {
    queue q(10, overflow_policy::drop_oldest);
    q.push("a");
    q.push_last("disconnect");
    q.push("late");
    q.push_droppable("late event");
    CHECK(q.closed());
    CHECK(drain(q) == std::vector<std::string>{"a", "disconnect"});
}
