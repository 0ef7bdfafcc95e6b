// Internal to the json_framer (not a public API): the vector part of its block-at-a-time scan.
//
// A classifier looks at 64 bytes and returns one bit per byte (bit i for byte i) for each kind
// of byte the framer cares about. Everything after that — escapes, strings, brackets — is plain
// 64-bit arithmetic in json_framer.cpp, shared by every instruction set. The best classifier for
// the CPU is picked at run time; tests pick each one in turn through framer_access and compare
// them with the byte-at-a-time scanner.
#pragma once

#include <cstdint>

#include "qwire/framing/json_framer.hpp"

namespace qwire::framing_detail {

struct block_masks {
    std::uint64_t quote;      // "
    std::uint64_t backslash;  // backslash
    std::uint64_t open;       // { [
    std::uint64_t close;      // } ]
    std::uint64_t reset;      // the reset byte passed in
};

/// How the json_framer scans: one byte at a time, or 64-byte blocks classified by plain C++,
/// SSE2 or AVX2.
enum class scan_level : std::uint8_t { bytewise, portable, sse2, avx2 };

/// The classifier of a level; nullptr for bytewise. Only levels this CPU supports.
block_classifier classifier_for(scan_level level) noexcept;
/// True when this CPU can run `level`.
bool cpu_supports(scan_level level) noexcept;
/// The fastest level this CPU supports.
scan_level best_scan_level() noexcept;

/// For tests: makes a framer scan at `level` (one the CPU supports).
struct framer_access {
    static void use(json_framer& framer, scan_level level) noexcept { framer.classify_ = classifier_for(level); }
};

}  // namespace qwire::framing_detail
