// engine::advance: a lifecycle table moves the state on the rows it has and refuses the rest.
#include "engine/state_table.hpp"

#include <cstdint>

#include <catch2/catch.hpp>

namespace {

enum class state : std::uint8_t { opening, open, closing, closed };
enum class input : std::uint8_t { opened, end, delivered };

constexpr qwire::engine::transition<state, input> table[] = {
    {state::opening, input::opened, state::open},
    {state::opening, input::end, state::closing},
    {state::open, input::end, state::closing},
    {state::closing, input::delivered, state::closed},
};

}  // namespace

TEST_CASE("engine state table: legal moves follow the rows, others leave the state alone") {
    state s = state::opening;
    CHECK_FALSE(qwire::engine::advance(s, table, input::delivered));
    CHECK(s == state::opening);
    CHECK(qwire::engine::advance(s, table, input::opened));
    CHECK(s == state::open);
    CHECK_FALSE(qwire::engine::advance(s, table, input::opened));
    CHECK(s == state::open);
    CHECK(qwire::engine::advance(s, table, input::end));
    CHECK(s == state::closing);
    CHECK_FALSE(qwire::engine::advance(s, table, input::end));
    CHECK(qwire::engine::advance(s, table, input::delivered));
    CHECK(s == state::closed);
    for (input i : {input::opened, input::end, input::delivered}) {
        CHECK_FALSE(qwire::engine::advance(s, table, i));
        CHECK(s == state::closed);
    }
}
