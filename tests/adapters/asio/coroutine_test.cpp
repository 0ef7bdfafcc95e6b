// qwire::asio::qmp_connection with C++20 coroutines (asio::use_awaitable) against real QEMU.
#include <signal.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <mutex>

#include "asio_testing.hpp"

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;
using json = nlohmann::json;
using qwire::errc;
using qwire::asio::unix_qmp_connection;
using qwire::test::unix_endpoint;

TEST_CASE("asio coroutines: 1000 concurrent query-status from 10 coroutines on two threads, OOB, all matched") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qwire::test::io_pool pool(2);
    unix_qmp_connection conn(pool.io);
    constexpr int coroutines = 10;
    constexpr int per_coroutine = 100;
    std::atomic<int> matched{0};
    std::mutex m;
    std::vector<std::string> problems;
    auto note = [&](std::string what) {
        std::lock_guard lock(m);
        problems.push_back(std::move(what));
    };

    // Each coroutine starts its 100 commands at once (one child coroutine per command, on the
    // pool, so completions race on two threads), then collects their outcomes from a channel.
    auto coroutine = [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::experimental::concurrent_channel<void(std::error_code, bool)> outcomes(ex, per_coroutine);
        for (int i = 0; i < per_coroutine; ++i) {
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    auto [ec, status] = co_await conn.async_execute("query-status", asio::experimental::as_tuple(use_awaitable));
                    const bool ok = !ec && status.is_object() && status["status"].is_string() &&
                                    status["running"].is_boolean();
                    if (!ok) note(ec ? ec.message() : status.dump());
                    outcomes.try_send(std::error_code{}, ok);
                },
                asio::detached);
        }
        for (int i = 0; i < per_coroutine; ++i) {
            if (co_await outcomes.async_receive(use_awaitable)) ++matched;
        }
    };

    auto run = asio::co_spawn(
        pool.io,
        [&]() -> asio::awaitable<void> {
            co_await conn.async_connect(unix_endpoint(*qemu), use_awaitable);
            auto ex = co_await asio::this_coro::executor;
            asio::experimental::concurrent_channel<void(std::error_code, bool)> finished(ex, coroutines);
            for (int c = 0; c < coroutines; ++c) {
                asio::co_spawn(ex, coroutine(), [&](std::exception_ptr e) {
                    if (e) note("a coroutine threw");
                    finished.try_send(std::error_code{}, true);
                });
            }
            for (int c = 0; c < coroutines; ++c) co_await finished.async_receive(use_awaitable);
        },
        asio::use_future);
    qwire::test::wait_for(run, 60s);
    CHECK(problems.empty());
    CHECK(matched == coroutines * per_coroutine);
    CHECK(conn.is_ready());
    // Nothing runs on the pool any more: the client may be read here.
    CHECK(conn.client().oob_enabled());
    CHECK(conn.client().pending_requests() == 0);
    CHECK(conn.client().violations() == 0);
}

TEST_CASE("asio coroutines: RESUME and STOP awaited while commands are in flight") {
    qwire::test::qemu_options guest;
    guest.guest = true;
    QWIRE_START_QEMU(qemu, guest);
    asio::io_context io;
    unix_qmp_connection conn(io);
    qwire::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect(unix_endpoint(*qemu), use_awaitable);
        auto [resume, cont] = co_await (conn.async_wait_event("RESUME", use_awaitable) &&
                                        conn.async_execute("cont", use_awaitable));
        CHECK(resume.name == "RESUME");
        CHECK(resume.timestamp.seconds > 0);
        CHECK(cont == json::object());

        // The wait starts first; a slow command (the 200 KB schema) and `stop` are in flight.
        // (g++ 12 cannot compile a braced list inside a co_await expression: built beforehand.)
        const qwire::asio::event_filter stop_or_shutdown{"STOP", "SHUTDOWN"};
        auto [stop, schema, stopped] = co_await (conn.async_wait_event(stop_or_shutdown, use_awaitable) &&
                                                 conn.async_execute("query-qmp-schema", use_awaitable) &&
                                                 conn.async_execute("stop", use_awaitable));
        CHECK(stop.name == "STOP");
        CHECK(schema.is_array());
        CHECK(stopped == json::object());
        const json status = co_await conn.async_execute("query-status", use_awaitable);
        CHECK(status["status"] == "paused");
        co_await conn.async_close(use_awaitable);
    }());
    CHECK(conn.is_finished());
    CHECK(conn.disconnect_reason()->code() == errc::closed);
}

TEST_CASE("asio coroutines: || with a timer cancels a command QEMU is too stopped to answer, a deadline times one out; then it goes on") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    qwire::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
        co_await conn.async_connect(unix_endpoint(*qemu), use_awaitable);
        qemu->process().signal(SIGSTOP);
        asio::steady_timer patience(io, 100ms);
        const auto start = qwire::clock::now();
        auto first = co_await (conn.async_execute("query-status", use_awaitable) || patience.async_wait(use_awaitable));
        CHECK(first.index() == 1);  // the timer won; the command completed with operation_aborted
        CHECK(qwire::clock::now() - start < 5s);
        CHECK(conn.client().pending_requests() == 0);  // the client's request was cancelled

        // An event wait is cancelled the same way.
        patience.expires_after(50ms);
        auto second = co_await (conn.async_wait_event("STOP", use_awaitable) || patience.async_wait(use_awaitable));
        CHECK(second.index() == 1);

        // A deadline given with the command is kept by the client, through the one timer.
        qwire::qmp::exec_options soon;
        soon.timeout = 100ms;
        auto [late, nothing] = co_await conn.async_execute("query-name", nullptr, soon,
                                                           asio::experimental::as_tuple(use_awaitable));
        CHECK(late == errc::timed_out);

        qemu->process().signal(SIGCONT);
        const json version = co_await conn.async_execute("query-version", use_awaitable);
        CHECK(version.contains("qemu"));
        CHECK(conn.client().late_replies() == 2);  // the cancelled and the timed-out commands' replies, dropped
        CHECK(conn.is_ready());
    }());
}

TEST_CASE("asio coroutines: errors arrive as std::system_error with a qwire::errc code") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    qwire::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
        // Before async_connect there is no session to run commands on.
        auto [early, nothing] = co_await conn.async_execute("query-status", asio::experimental::as_tuple(use_awaitable));
        CHECK(early == errc::invalid_state);
        CHECK(nothing.is_null());

        co_await conn.async_connect(unix_endpoint(*qemu), use_awaitable);
        auto [ec, error] = co_await conn.async_execute("no-such-command", asio::experimental::as_tuple(use_awaitable));
        CHECK(ec == errc::command_failed);
        CHECK(error["class"] == "CommandNotFound");
        CHECK(error["desc"].get<std::string>().find("no-such-command") != std::string::npos);

        bool threw = false;
        try {
            const json nonsense = {{"nonsense", 1}};
            (void)co_await conn.async_execute("query-status", nonsense, use_awaitable);
        } catch (const std::system_error& e) {
            threw = true;
            CHECK(e.code() == errc::command_failed);
        }
        CHECK(threw);

        auto [again] = co_await conn.async_connect(unix_endpoint(*qemu), asio::experimental::as_tuple(use_awaitable));
        CHECK(again == errc::invalid_state);
        CHECK(conn.is_ready());  // none of this ended the session
    }());
}
