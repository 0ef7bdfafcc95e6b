// Undelivered events of one session, pulled one at a time.
//
// Only the peer's asynchronous events are droppable: they count toward the limit, and when it
// is reached the policy drops the oldest undelivered one or the new one, counting each drop.
// Everything else (replies, request outcomes, the disconnect) is always kept. After close()
// (called when the disconnect is queued) nothing more is accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "engine/lazy_deque.hpp"
#include "qwire/session.hpp"

namespace qwire::engine {

template <class Event>
class event_queue {
public:
    event_queue(std::size_t max_droppable, overflow_policy policy) : max_droppable_(max_droppable), policy_(policy) {}

    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
    [[nodiscard]] bool closed() const noexcept { return closed_; }

    /// Queues an event that must not be lost.
    void push(Event event) {
        if (!closed_) items_.push_back({std::move(event), false});
    }

    /// Queues a peer event, applying the overflow policy.
    void push_droppable(Event event) {
        if (closed_) return;
        if (droppable_ >= max_droppable_) {
            ++dropped_;
            if (policy_ == overflow_policy::drop_newest || !drop_oldest_droppable()) return;
        }
        items_.push_back({std::move(event), true});
        ++droppable_;
    }

    /// Queues the last event; nothing is accepted after it.
    void push_last(Event event) {
        push(std::move(event));
        closed_ = true;
    }

    [[nodiscard]] std::optional<Event> pop() {
        if (items_.empty()) return std::nullopt;
        item front = std::move(items_.front());
        items_.pop_front();
        if (front.droppable) --droppable_;
        return std::move(front.event);
    }

private:
    struct item {
        Event event;
        bool droppable;
    };

    bool drop_oldest_droppable() {
        for (auto it = items_.begin(); it != items_.end(); ++it) {
            if (it->droppable) {
                items_.erase(it);
                --droppable_;
                return true;
            }
        }
        return false;  // a limit of zero: nothing to make room in
    }

    lazy_deque<item> items_;
    std::size_t droppable_ = 0;
    std::size_t max_droppable_;
    overflow_policy policy_;
    std::uint64_t dropped_ = 0;
    bool closed_ = false;
};

}  // namespace qwire::engine
