// A session's lifecycle as one table of legal moves, (state, input) -> state, so that every
// transition of a protocol stands in one place and anything missing from it is refused.
#pragma once

#include <cstddef>

namespace qwire::engine {

template <class State, class Input>
struct transition {
    State from;
    Input on;
    State to;
};

/// Moves `state` by the row of `table` that matches (state, on); false, with `state` unchanged,
/// when no row does.
template <class State, class Input, std::size_t N>
bool advance(State& state, const transition<State, Input> (&table)[N], Input on) noexcept {
    for (const transition<State, Input>& t : table) {
        if (t.from == state && t.on == on) {
            state = t.to;
            return true;
        }
    }
    return false;
}

}  // namespace qwire::engine
