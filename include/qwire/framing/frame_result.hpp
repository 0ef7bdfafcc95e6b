// qwire/framing/frame_result.hpp — what a framer's next() hands out.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "qwire/error.hpp"

namespace qwire {

enum class frame_status : std::uint8_t {
    need_more,  ///< all input is consumed; feed more bytes
    frame,      ///< `frame` holds one complete frame
    reset,      ///< the reset byte arrived: any partial frame was discarded
    error,      ///< `error` says which limit or rule the input broke; the framer is now failed
};

struct frame_result {
    frame_status status = frame_status::need_more;
    std::string_view frame;            ///< set when status == frame
    std::optional<qwire::error> error; ///< set when status == error
};

}  // namespace qwire
