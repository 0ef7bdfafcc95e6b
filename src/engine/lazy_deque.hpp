// A FIFO that holds no memory while it is empty.
//
// libstdc++'s std::deque allocates 576 bytes as soon as it is constructed and keeps them when
// emptied; a session has several queues that are empty nearly all the time (held commands,
// output marks, undelivered events), which made them most of an idle connection's memory.
// This one makes its deque on the first push and frees it when the last element leaves.
#pragma once

#include <deque>
#include <optional>
#include <utility>

namespace qwire::engine {

template <class T>
class lazy_deque {
public:
    using iterator = typename std::deque<T>::iterator;
    using const_iterator = typename std::deque<T>::const_iterator;

    [[nodiscard]] bool empty() const noexcept { return !items_ || items_->empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_ ? items_->size() : 0; }

    void push_back(T value) {
        if (!items_) items_.emplace();
        items_->push_back(std::move(value));
    }
    /// Only when not empty.
    [[nodiscard]] T& front() { return items_->front(); }
    /// Only when not empty.
    void pop_front() {
        items_->pop_front();
        if (items_->empty()) items_.reset();
    }
    /// Only with an iterator into this queue.
    void erase(iterator at) {
        items_->erase(at);
        if (items_->empty()) items_.reset();
    }
    void clear() noexcept { items_.reset(); }

    // Empty queues give equal value-initialised iterators.
    [[nodiscard]] iterator begin() { return items_ ? items_->begin() : iterator(); }
    [[nodiscard]] iterator end() { return items_ ? items_->end() : iterator(); }
    [[nodiscard]] const_iterator begin() const { return items_ ? items_->cbegin() : const_iterator(); }
    [[nodiscard]] const_iterator end() const { return items_ ? items_->cend() : const_iterator(); }

private:
    std::optional<std::deque<T>> items_;
};

}  // namespace qwire::engine
