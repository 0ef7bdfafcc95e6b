/// \file
/// \brief Which QEMU events an async_wait_event() takes.
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "qwire/qmp/events.hpp"

namespace qwire::asio {

/// Matches QEMU events by name (any of a list; the empty filter matches every event), and
/// optionally by a predicate on the whole event. Copyable; matches() is const and pure.
///
///     conn.async_wait_event("STOP", token);
///     conn.async_wait_event({"STOP", "RESUME"}, token);
///     conn.async_wait_event(event_filter::where([](const qmp::event& e) {
///         return e.name == "BLOCK_JOB_COMPLETED" && e.data["device"] == "job0"; }), token);
class event_filter {
public:
    /// Every event.
    event_filter() = default;
    /// Events named `name` (every event when it is empty).
    event_filter(std::string name) {  // NOLINT(google-explicit-constructor): reads like a name
        if (!name.empty()) names_.push_back(std::move(name));
    }
    /// The same for a string literal.
    event_filter(const char* name) : event_filter(std::string(name)) {}  // NOLINT(google-explicit-constructor)
    /// Events with any of these names.
    event_filter(std::initializer_list<std::string> names) : names_(names) {}

    /// Events for which `predicate` returns true (it runs on the connection's strand).
    [[nodiscard]] static event_filter where(std::function<bool(const qmp::event&)> predicate) {
        event_filter f;
        f.predicate_ = std::move(predicate);
        return f;
    }

    /// True when the event passes: its name is in the list (or the list is empty) and the
    /// predicate, if any, accepts it.
    [[nodiscard]] bool matches(const qmp::event& e) const {
        if (!names_.empty() && std::find(names_.begin(), names_.end(), e.name) == names_.end()) return false;
        return !predicate_ || predicate_(e);
    }

private:
    std::vector<std::string> names_;
    std::function<bool(const qmp::event&)> predicate_;
};

}  // namespace qwire::asio
