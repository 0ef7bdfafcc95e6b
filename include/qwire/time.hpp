/// \file
/// \brief How time enters qwire. The core never reads a clock: the caller passes
/// `now` (steady clock) to the calls that need it and arms one timer from next_deadline().
#pragma once

#include <chrono>

namespace qwire {

using clock = std::chrono::steady_clock;  ///< the clock that every time in qwire is measured on
using time_point = clock::time_point;  ///< a moment: `now` arguments and deadlines
using duration = clock::duration;  ///< a span of time: timeouts

}  // namespace qwire
