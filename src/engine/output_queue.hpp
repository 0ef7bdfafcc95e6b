// The bytes a session still has to write, with file descriptor attachments.
//
// Messages are appended whole. A message may carry file descriptors, which must reach the
// peer with its first byte (SCM_RIGHTS), and may ask to be told when its last byte has been
// written (fire-and-forget requests complete then). pending() never spans the first byte of a
// later message that carries descriptors, so each sendmsg() carries at most one message's
// descriptors, with the right byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lazy_deque.hpp"
#include "qwire/session.hpp"

namespace qwire::engine {

class output_queue {
public:
    /// Bytes appended but not yet consumed.
    [[nodiscard]] std::size_t size() const noexcept { return buffer_.size() - head_; }

    /// Appends one message. `tag` is reported by consume() once the message is fully written,
    /// if `notify` is set.
    void append(std::string_view bytes, std::vector<int> fds = {}, std::uint64_t tag = 0, bool notify = false);

    /// The next bytes to write and the descriptors that go with their first byte.
    [[nodiscard]] output_view pending() const noexcept;

    /// Marks n bytes written (n <= pending().bytes.size() is the adapter's contract; more is
    /// clamped). Calls on_written(tag) for each notifying message now fully written, in order.
    template <class OnWritten>
    void consume(std::size_t n, OnWritten&& on_written) {
        n = std::min(n, pending().bytes.size());
        head_ += n;
        consumed_ += n;
        while (!marks_.empty() && marks_.front().begin < consumed_) {
            mark& m = marks_.front();
            m.fds.clear();  // they went with the first byte
            if (m.end > consumed_) break;
            if (m.notify) on_written(m.tag);
            marks_.pop_front();
        }
        compact();
    }

    /// Drops everything unwritten.
    void clear() noexcept;

private:
    struct mark {
        std::uint64_t begin;  // offsets counted from the start of the session
        std::uint64_t end;
        std::vector<int> fds;
        std::uint64_t tag;
        bool notify;
    };

    void compact();

    std::string buffer_;
    std::size_t head_ = 0;       // first unconsumed byte of buffer_
    std::uint64_t consumed_ = 0;  // bytes consumed since the start
    lazy_deque<mark> marks_;     // only messages with descriptors or a notification
};

}  // namespace qwire::engine
