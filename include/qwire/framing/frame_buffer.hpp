/// \file
/// \brief Internal storage shared by the framers (not a public API).
///
/// A framer scans the caller's bytes in place. Only a frame that is still incomplete when the
/// caller's input runs out is copied, into `partial`; when its end arrives, the rest is appended
/// and the buffers swap, so the finished frame stays valid in `done` while later input is held.
/// Each input byte is thus copied at most once, and a frame that arrives whole is never copied.
/// Growth uses realloc(), which for large buffers remaps pages instead of copying them.
#pragma once

#include <cstddef>
#include <string_view>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"

namespace qwire::framing_detail {

/// A growable byte buffer on malloc/realloc. Movable, not copyable.
class QWIRE_API byte_buffer {
public:
    byte_buffer() = default;
    byte_buffer(byte_buffer&& other) noexcept;
    byte_buffer& operator=(byte_buffer&& other) noexcept;
    byte_buffer(const byte_buffer&) = delete;
    byte_buffer& operator=(const byte_buffer&) = delete;
    ~byte_buffer();

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::string_view view() const noexcept { return {data_, size_}; }
    /// Appends; throws std::bad_alloc when memory runs out.
    void append(std::string_view bytes);
    void clear() noexcept { size_ = 0; }
    void release() noexcept;
    void swap(byte_buffer& other) noexcept;

private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

/// feed() is allowed only once the previous input is used up: invalid_state otherwise.
[[nodiscard]] QWIRE_API tl::expected<void, error> check_drained(std::string_view unconsumed);

class QWIRE_API frame_buffer {
public:
    /// Bytes of the incomplete frame held from earlier input.
    [[nodiscard]] std::size_t held() const noexcept { return partial_.size(); }

    /// The caller's input ran out inside a frame: keep these bytes of it.
    void hold(std::string_view bytes) { partial_.append(bytes); }

    /// The frame's end arrived; `last` is its part from the current input. Returns the whole
    /// frame: `last` itself when nothing was held, else a view into storage that stays valid
    /// until the next complete() or reset().
    std::string_view complete(std::string_view last);

    /// Drops the incomplete frame; a finished frame returned earlier stays valid.
    void drop() noexcept { partial_.clear(); }

    /// Drops everything and releases memory.
    void reset() noexcept;

private:
    byte_buffer partial_;
    byte_buffer done_;
};

}  // namespace qwire::framing_detail
