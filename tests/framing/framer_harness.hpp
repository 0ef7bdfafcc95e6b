// Feeds pieces to a framer the way an adapter would and records what comes out, as strings:
// "frame:<bytes>", "reset" or "error:<errc name>".
//
// Each piece is copied into a scratch buffer that is scribbled over as soon as next() returns
// need_more, and the frames of one piece are turned into strings only then: so a framer that
// keeps a view into consumed input, or invalidates a frame before the next feed(), fails here.
#pragma once

#include <string>
#include <vector>

#include "qwire/framing/frame_result.hpp"
#include "testing.hpp"

namespace qwire::test {

template <class Framer>
std::vector<std::string> drain_pieces(Framer& framer, const pieces& input) {
    std::vector<std::string> out;
    std::string scratch;
    for (std::string_view piece : input) {
        scratch.assign(piece);
        REQUIRE(framer.feed(scratch));
        std::vector<frame_result> results;
        for (auto r = framer.next(); r.status != frame_status::need_more; r = framer.next()) {
            results.push_back(std::move(r));
        }
        for (const frame_result& r : results) {
            switch (r.status) {
                case frame_status::frame: out.push_back("frame:" + std::string(r.frame)); break;
                case frame_status::reset: out.emplace_back("reset"); break;
                case frame_status::error: out.push_back("error:" + std::string(to_string(r.error->code()))); break;
                case frame_status::need_more: break;
            }
        }
        scratch.assign(scratch.size(), '#');
    }
    return out;
}

/// Frames the pieces with a new framer made from `options`.
template <class Framer, class Options>
std::vector<std::string> frame_pieces(const Options& options, const pieces& input) {
    Framer framer(options);
    return drain_pieces(framer, input);
}

/// Checks that a new framer turns the input into `expected`, whole, byte by byte and at every
/// two-piece split.
template <class Framer, class Options>
void check_framer(std::string_view input, const std::vector<std::string>& expected, const Options& options) {
    check_every_split<std::vector<std::string>>(
        input, expected, [&](const pieces& p) { return frame_pieces<Framer>(options, p); });
}

}  // namespace qwire::test
