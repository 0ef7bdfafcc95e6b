// Base64 (RFC 4648, standard alphabet, with padding), as GLib's g_base64_encode writes it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qwire::qtest::base64 {

/// The length of the encoding of n bytes.
[[nodiscard]] constexpr std::uint64_t encoded_size(std::uint64_t n) noexcept { return (n / 3 + (n % 3 != 0)) * 4; }

/// Appends the encoding of `data` to `out`.
void encode(std::span<const std::uint8_t> data, std::string& out);

/// Decodes strictly: a multiple of 4 characters from the alphabet, '=' only as the last one or
/// two. nullopt for anything else.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> decode(std::string_view text);

}  // namespace qwire::qtest::base64
