#include "framing/block_classify.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace qwire::framing_detail {
namespace {

block_masks classify_portable(const unsigned char* p, unsigned char reset) noexcept {
    block_masks m{};
    for (unsigned i = 0; i < 64; ++i) {
        const unsigned char c = p[i];
        const std::uint64_t bit = std::uint64_t{1} << i;
        if (c == '"') m.quote |= bit;
        if (c == '\\') m.backslash |= bit;
        if (c == '{' || c == '[') m.open |= bit;
        if (c == '}' || c == ']') m.close |= bit;
        if (c == reset) m.reset |= bit;
    }
    return m;
}

#if defined(__x86_64__)

// '{' and '[' differ only in bit 0x20, as do '}' and ']': one compare after setting that bit
// finds both (no other byte becomes '{' or '}' that way).
constexpr char case_bit = 0x20;

std::uint64_t equal_sse2(const __m128i (&v)[4], char c) noexcept {
    const __m128i wanted = _mm_set1_epi8(c);
    std::uint64_t bits = 0;
    for (unsigned i = 0; i < 4; ++i) {
        bits |= std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v[i], wanted)))} << (16 * i);
    }
    return bits;
}

block_masks classify_sse2(const unsigned char* p, unsigned char reset) noexcept {
    __m128i v[4], folded[4];
    for (unsigned i = 0; i < 4; ++i) {
        v[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
        folded[i] = _mm_or_si128(v[i], _mm_set1_epi8(case_bit));
    }
    return {equal_sse2(v, '"'), equal_sse2(v, '\\'), equal_sse2(folded, '{'), equal_sse2(folded, '}'),
            equal_sse2(v, static_cast<char>(reset))};
}

[[gnu::target("avx2")]] std::uint64_t equal_avx2(__m256i lo, __m256i hi, char c) noexcept {
    const __m256i wanted = _mm256_set1_epi8(c);
    const auto low = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, wanted)));
    const auto high = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, wanted)));
    return low | std::uint64_t{high} << 32;
}

[[gnu::target("avx2")]] block_masks classify_avx2(const unsigned char* p, unsigned char reset) noexcept {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i lo_folded = _mm256_or_si256(lo, _mm256_set1_epi8(case_bit));
    const __m256i hi_folded = _mm256_or_si256(hi, _mm256_set1_epi8(case_bit));
    return {equal_avx2(lo, hi, '"'), equal_avx2(lo, hi, '\\'), equal_avx2(lo_folded, hi_folded, '{'),
            equal_avx2(lo_folded, hi_folded, '}'), equal_avx2(lo, hi, static_cast<char>(reset))};
}

#endif

}  // namespace

bool cpu_supports(scan_level level) noexcept {
    switch (level) {
        case scan_level::bytewise:
        case scan_level::portable: return true;
#if defined(__x86_64__)
        case scan_level::sse2: return true;
        case scan_level::avx2: return __builtin_cpu_supports("avx2");
#else
        case scan_level::sse2:
        case scan_level::avx2: return false;
#endif
    }
    return false;
}

scan_level best_scan_level() noexcept {
    for (scan_level level : {scan_level::avx2, scan_level::sse2}) {
        if (cpu_supports(level)) return level;
    }
    return scan_level::portable;
}

block_classifier classifier_for(scan_level level) noexcept {
    switch (level) {
        case scan_level::bytewise: return nullptr;
        case scan_level::portable: return classify_portable;
#if defined(__x86_64__)
        case scan_level::sse2: return classify_sse2;
        case scan_level::avx2: return classify_avx2;
#else
        case scan_level::sse2:
        case scan_level::avx2: break;
#endif
    }
    return classify_portable;
}

}  // namespace qwire::framing_detail
