// Helpers for the Asio adapter's tests: running an io_context on the test's thread or on a
// pool, coroutines to completion, futures with a timeout.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "qemu_testing.hpp"
#include "qwire/asio/qmp_connection.hpp"

namespace qwire::test {

using namespace std::chrono_literals;

/// Runs `io` on this thread until `done()` or `timeout`; true when done.
inline bool run_until(::asio::io_context& io, const std::function<bool()>& done, duration timeout) {
    const time_point until = clock::now() + timeout;
    while (!done()) {
        if (clock::now() >= until) return false;
        if (io.stopped()) io.restart();
        io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

/// Runs a coroutine to its end on `io`, on this thread (Catch's macros may be used inside);
/// rethrows what it threw. Fails the test if it does not end within `timeout`.
inline void run_coroutine(::asio::io_context& io, ::asio::awaitable<void> coroutine, duration timeout = 30s) {
    bool done = false;
    std::exception_ptr thrown;
    ::asio::co_spawn(io, std::move(coroutine), [&](std::exception_ptr e) {
        done = true;
        thrown = e;
    });
    REQUIRE(run_until(io, [&] { return done; }, timeout));
    if (thrown) std::rethrow_exception(thrown);
}

/// An io_context run by `threads` threads until destroyed. Catch's macros must not be used
/// from its threads: record, then check on the test's thread.
class io_pool {
public:
    explicit io_pool(int threads) {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io.run(); });
    }
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;
    /// Lets queued work (a destroyed connection's clean-up) finish, then stops.
    ~io_pool() {
        guard_.reset();
        const time_point until = clock::now() + 5s;
        while (!io.stopped() && clock::now() < until) std::this_thread::sleep_for(1ms);
        io.stop();
        for (auto& t : threads_) t.join();
    }

    ::asio::io_context io;

private:
    ::asio::executor_work_guard<::asio::io_context::executor_type> guard_ = ::asio::make_work_guard(io);
    std::vector<std::thread> threads_;
};

/// The future's value, failing the test if it is not ready within `timeout`.
template <class T>
T wait_for(std::future<T>& f, duration timeout = 30s) {
    REQUIRE(f.wait_for(timeout) == std::future_status::ready);
    return f.get();
}

/// The error code an awaited or future operation threw as std::system_error, or none.
template <class F>
std::error_code error_of(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

inline ::asio::local::stream_protocol::endpoint unix_endpoint(const qemu_process& q) {
    return ::asio::local::stream_protocol::endpoint(q.socket_path());
}

}  // namespace qwire::test
