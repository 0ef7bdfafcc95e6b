/// \file
/// \brief One epoll instance and one timerfd that drive qwire sessions.
///
/// The loop owns no connection: connections register themselves (qmp_connection does) and
/// deregister when destroyed. Each iteration waits for readiness or for the earliest deadline
/// any source reports, dispatches, and re-arms the single timerfd. The epoll descriptor is
/// exposed (native_handle) so an application with its own event loop can nest this one: add the
/// descriptor to its own poll set and call run_once(0s) when it is readable.
///
/// Not thread-safe: use one loop from one thread. Sources must not be destroyed from inside
/// another source's callback while the loop dispatches (closing is fine).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include <tl/expected.hpp>

#include "qwire/export.hpp"
#include "qwire/error.hpp"
#include "qwire/time.hpp"

namespace qwire::epoll {

class loop;

/// Something the loop drives: a descriptor's readiness and a deadline.
class QWIRE_API source {
public:
    virtual ~source() = default;
    /// The descriptor is ready (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits).
    virtual void on_ready(std::uint32_t events) = 0;
    /// Time reached `now`, at or after deadline().
    virtual void on_time(time_point now) = 0;
    /// The earliest time this source wants on_time(), if any.
    [[nodiscard]] virtual std::optional<time_point> deadline() const = 0;
};

/// One epoll instance and one timerfd that drive sources (see the file comment). Movable, not
/// thread-safe.
class QWIRE_API loop {
public:
    /// Makes the epoll instance and the timerfd. connection_lost with the OS error as cause if
    /// the system refuses (descriptor limits).
    [[nodiscard]] static tl::expected<loop, error> create();

    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    loop(loop&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    loop& operator=(loop&&) noexcept;
    ~loop();

    /// The epoll descriptor, readable whenever run_once() has work: for nesting.
    [[nodiscard]] int native_handle() const noexcept;
    /// The loop's clock (steady).
    [[nodiscard]] static time_point now() { return clock::now(); }

    /// Runs until stop() is called. Errors only when epoll itself fails.
    tl::expected<void, error> run();
    /// One iteration: waits at most `max_wait` (none: until something happens), dispatches.
    tl::expected<void, error> run_once(std::optional<duration> max_wait = std::nullopt);
    /// Makes run() return after the current iteration. Callable from callbacks.
    void stop() noexcept;

    // For sources: registration. `events` are EPOLLIN/EPOLLOUT bits.
    /// Watches `fd` for `events` on behalf of `s`. connection_lost with the OS error as cause
    /// when epoll refuses it.
    tl::expected<void, error> add(int fd, std::uint32_t events, source* s);
    /// Changes the events watched on `fd`; errors as add().
    tl::expected<void, error> modify(int fd, std::uint32_t events, source* s);
    /// Stops watching `fd`; call it before closing the descriptor.
    void remove(int fd, source* s) noexcept;
    /// Sources without a descriptor (e.g. waiting to reconnect) still get deadlines.
    void watch(source* s);
    /// Stops asking `s` for deadlines; call it before destroying `s`.
    void unwatch(source* s) noexcept;

private:
    struct state;
    explicit loop(std::unique_ptr<state> s);
    std::unique_ptr<state> state_;
};

}  // namespace qwire::epoll
