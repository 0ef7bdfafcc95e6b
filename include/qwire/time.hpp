// qwire/time.hpp — how time enters qwire. The core never reads a clock: the caller passes
// `now` (steady clock) to the calls that need it and arms one timer from next_deadline().
#pragma once

#include <chrono>

namespace qwire {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

}  // namespace qwire
