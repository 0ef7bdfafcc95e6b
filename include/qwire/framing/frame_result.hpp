/// \file
/// \brief What a framer's next() hands out.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "qwire/error.hpp"

namespace qwire {

/// The kind of a frame_result.
enum class frame_status : std::uint8_t {
    need_more,  ///< all input is consumed; feed more bytes
    frame,      ///< `frame` holds one complete frame
    reset,      ///< the reset byte arrived: any partial frame was discarded
    error,      ///< `error` says which limit or rule the input broke; the framer is now failed
};

/// One result of a framer's next(): a frame, a reset, an error, or a request for more input.
struct frame_result {
    frame_status status = frame_status::need_more;  ///< which of the members below is set
    std::string_view frame;            ///< set when status == frame
    std::optional<qwire::error> error; ///< set when status == error
};

}  // namespace qwire
