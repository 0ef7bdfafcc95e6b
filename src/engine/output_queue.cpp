#include "engine/output_queue.hpp"

#include <algorithm>

namespace qwire::engine {

void output_queue::append(std::string_view bytes, std::vector<int> fds, std::uint64_t tag, bool notify) {
    if (bytes.empty()) return;
    const std::uint64_t begin = consumed_ + size();
    buffer_.append(bytes);
    if (!fds.empty() || notify) marks_.push_back({begin, begin + bytes.size(), std::move(fds), tag, notify});
}

output_view output_queue::pending() const noexcept {
    std::string_view bytes(buffer_.data() + head_, size());
    std::span<const int> fds;
    for (const mark& m : marks_) {
        if (m.fds.empty()) continue;
        if (m.begin == consumed_) {
            fds = m.fds;
            continue;
        }
        if (m.begin > consumed_) {
            bytes = bytes.substr(0, m.begin - consumed_);
            break;
        }
    }
    return {bytes, fds};
}

void output_queue::clear() noexcept {
    consumed_ += size();
    buffer_.clear();
    head_ = 0;
    marks_.clear();
}

void output_queue::compact() {
    if (head_ == buffer_.size()) {
        buffer_.clear();
        head_ = 0;
    } else if (head_ > 65536 && head_ > buffer_.size() / 2) {
        buffer_.erase(0, head_);
        head_ = 0;
    }
}

}  // namespace qwire::engine
