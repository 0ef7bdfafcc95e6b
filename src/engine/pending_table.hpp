// Requests that are waiting for their outcome, in request order, with deadlines.
//
// Entries are keyed by request id (increasing, so iteration is request order) and may carry a
// deadline; next_deadline() is the earliest one. fail_all() implements the disconnect rule
// every client shares: each request fails exactly once, in request order, then one disconnect.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "engine/event_queue.hpp"
#include "qwire/session.hpp"
#include "qwire/time.hpp"

namespace qwire::engine {

template <class Entry>
class pending_table {
public:
    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

    void insert(std::uint64_t id, Entry entry, std::optional<time_point> deadline) {
        entries_.insert_or_assign(id, record{std::move(entry), deadline});
        if (deadline) deadlines_.insert({*deadline, id});
    }

    [[nodiscard]] Entry* find(std::uint64_t id) {
        auto it = entries_.find(id);
        return it == entries_.end() ? nullptr : &it->second.entry;
    }

    /// Removes and returns an entry.
    std::optional<Entry> take(std::uint64_t id) {
        auto it = entries_.find(id);
        if (it == entries_.end()) return std::nullopt;
        if (it->second.deadline) deadlines_.erase({*it->second.deadline, id});
        Entry entry = std::move(it->second.entry);
        entries_.erase(it);
        return entry;
    }

    /// Drops the entry's deadline (it stays pending).
    void clear_deadline(std::uint64_t id) {
        auto it = entries_.find(id);
        if (it == entries_.end() || !it->second.deadline) return;
        deadlines_.erase({*it->second.deadline, id});
        it->second.deadline.reset();
    }

    [[nodiscard]] std::optional<time_point> next_deadline() const {
        if (deadlines_.empty()) return std::nullopt;
        return deadlines_.begin()->first;
    }

    /// Ids whose deadline is at or before now, in request order.
    [[nodiscard]] std::vector<std::uint64_t> expired(time_point now) const {
        std::vector<std::uint64_t> ids;
        for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it) ids.push_back(it->second);
        std::sort(ids.begin(), ids.end());
        return ids;
    }

    /// The first entry in request order, if any.
    [[nodiscard]] std::optional<std::pair<std::uint64_t, Entry*>> front() {
        if (entries_.empty()) return std::nullopt;
        return std::pair{entries_.begin()->first, &entries_.begin()->second.entry};
    }

    template <class F>
    void for_each(F&& f) {
        for (auto& [id, rec] : entries_) f(id, rec.entry);
    }

    /// The disconnect: every entry for which `visible(entry)` holds fails with `code` (detail:
    /// the reason), in request order; then `reason` is queued as the last event. The table is
    /// left empty.
    template <class Event, class Visible>
    void fail_all(event_queue<Event>& events, errc code, const error& reason, Visible&& visible) {
        for (auto& [id, rec] : entries_) {
            if (visible(rec.entry)) {
                events.push(request_failed{request_id{id}, error(code, reason.message(), reason.cause())});
            }
        }
        entries_.clear();
        deadlines_.clear();
        events.push_last(disconnect{reason});
    }

private:
    struct record {
        Entry entry;
        std::optional<time_point> deadline;
    };

    std::map<std::uint64_t, record> entries_;
    std::set<std::pair<time_point, std::uint64_t>> deadlines_;
};

}  // namespace qwire::engine
