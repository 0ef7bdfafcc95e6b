// qwire::asio::qmp_connection when things end: QEMU killed mid-flight, the connection destroyed
// with operations pending, close, handshake timeouts and refusals, a QEMU that dials us.
#include <signal.h>

#include <cerrno>

#include <asio/experimental/awaitable_operators.hpp>

#include "asio_testing.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using qwire::errc;
using qwire::asio::unix_qmp_connection;
using qwire::test::run_until;
using qwire::test::unix_endpoint;

namespace {

void connect(asio::io_context& io, unix_qmp_connection& conn, const qwire::test::qemu_process& qemu) {
    bool ready = false;
    conn.async_connect(unix_endpoint(qemu), [&](std::error_code ec) {
        CHECK(!ec);
        ready = true;
    });
    REQUIRE(run_until(io, [&] { return ready; }, 10s));
}

}  // namespace

TEST_CASE("asio faults: kill -9 mid-flight completes every pending operation with connection_lost") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    connect(io, conn, *qemu);
    std::vector<qwire::error> reasons;
    conn.set_disconnect_handler([&](const qwire::error& e) { reasons.push_back(e); });

    qemu->process().signal(SIGSTOP);  // no reply can come before the kill
    std::vector<std::error_code> outcomes;
    for (int i = 0; i < 50; ++i) {
        conn.async_execute("query-status", [&](std::error_code ec, json) { outcomes.push_back(ec); });
    }
    conn.async_wait_event("STOP", [&](std::error_code ec, qwire::qmp::event) { outcomes.push_back(ec); });
    std::error_code awaited;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto [ec, v] = co_await conn.async_execute("query-version", asio::experimental::as_tuple(asio::use_awaitable));
            awaited = ec;
        },
        asio::detached);
    REQUIRE_FALSE(run_until(io, [&] { return !outcomes.empty(); }, 50ms));
    qemu->process().signal(SIGKILL);
    REQUIRE(run_until(io, [&] { return outcomes.size() == 51 && awaited; }, 10s));
    for (const auto& ec : outcomes) CHECK(ec == errc::connection_lost);
    CHECK(awaited == errc::connection_lost);
    REQUIRE(reasons.size() == 1);
    CHECK((reasons[0].code() == errc::peer_closed || reasons[0].code() == errc::connection_lost));
    CHECK(conn.is_finished());
    CHECK(conn.disconnect_reason() == reasons[0]);

    std::error_code later;
    conn.async_execute("query-status", [&](std::error_code ec, json) { later = ec; });
    REQUIRE(run_until(io, [&] { return bool(later); }, 1s));
    CHECK(later == errc::invalid_state);
}

TEST_CASE("asio faults: destroying the connection completes pending operations with operation_aborted") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    std::vector<std::error_code> outcomes;
    std::error_code awaited;
    bool coroutine_done = false;
    {
        auto conn = std::make_unique<unix_qmp_connection>(io);
        connect(io, *conn, *qemu);
        qemu->process().signal(SIGSTOP);
        for (int i = 0; i < 20; ++i) {
            conn->async_execute("query-status", [&](std::error_code ec, json) { outcomes.push_back(ec); });
        }
        conn->async_wait_event("STOP", [&](std::error_code ec, qwire::qmp::event) { outcomes.push_back(ec); });
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                try {
                    (void)co_await conn->async_wait_event("RESUME", asio::use_awaitable);
                } catch (const std::system_error& e) {
                    awaited = e.code();
                }
                coroutine_done = true;
            },
            asio::detached);
        REQUIRE_FALSE(run_until(io, [&] { return !outcomes.empty(); }, 50ms));
        conn.reset();  // the handlers have not run yet; they must not touch the connection
    }
    REQUIRE(run_until(io, [&] { return outcomes.size() == 21 && coroutine_done; }, 5s));
    for (const auto& ec : outcomes) CHECK(ec == asio::error::operation_aborted);
    CHECK(awaited == asio::error::operation_aborted);
    // The socket is closed: QEMU takes a new client once it runs again.
    qemu->process().signal(SIGCONT);
    unix_qmp_connection next(io);
    connect(io, next, *qemu);
}

TEST_CASE("asio faults: destroying a connection that never connected, or one mid-handshake, is clean") {
    asio::io_context io;
    std::vector<std::error_code> outcomes;
    {
        unix_qmp_connection idle(io);
        idle.async_wait_event("STOP", [&](std::error_code ec, auto) { outcomes.push_back(ec); });
        idle.async_execute("query-status", [&](std::error_code ec, json) { outcomes.push_back(ec); });
    }
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qemu->process().signal(SIGSTOP);  // accepts (the kernel does) but never greets
    {
        unix_qmp_connection waiting(io);
        waiting.async_connect(unix_endpoint(*qemu), [&](std::error_code ec) { outcomes.push_back(ec); });
        REQUIRE_FALSE(run_until(io, [&] { return outcomes.size() > 2; }, 50ms));
    }
    REQUIRE(run_until(io, [&] { return outcomes.size() == 3; }, 5s));
    CHECK(outcomes[0] == errc::invalid_state);  // execute before connect, completed at once
    CHECK(outcomes[1] == asio::error::operation_aborted);
    CHECK(outcomes[2] == asio::error::operation_aborted);
}

TEST_CASE("asio faults: async_close cancels what is pending and is idempotent") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    connect(io, conn, *qemu);
    qemu->process().signal(SIGSTOP);
    std::vector<std::error_code> outcomes;
    for (int i = 0; i < 3; ++i) conn.async_execute("query-status", [&](std::error_code ec, json) { outcomes.push_back(ec); });
    conn.async_wait_event({}, [&](std::error_code ec, qwire::qmp::event) { outcomes.push_back(ec); });
    int closes = 0;
    conn.async_close([&](std::error_code ec) {
        CHECK(!ec);
        ++closes;
    });
    conn.async_close([&](std::error_code ec) {
        CHECK(!ec);
        ++closes;
    });
    REQUIRE(run_until(io, [&] { return outcomes.size() == 4 && closes == 2; }, 5s));
    for (const auto& ec : outcomes) CHECK(ec == errc::cancelled);
    CHECK(conn.disconnect_reason()->code() == errc::closed);
    qemu->process().signal(SIGCONT);
}

TEST_CASE("asio faults: a silent QEMU ends the handshake at its timeout; a missing socket is refused") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qemu->process().signal(SIGSTOP);
    asio::io_context io;
    qwire::asio::connection_options quick;
    quick.handshake_timeout = 200ms;
    unix_qmp_connection conn(io, quick);
    std::error_code outcome;
    const auto start = qwire::clock::now();
    conn.async_connect(unix_endpoint(*qemu), [&](std::error_code ec) { outcome = ec; });
    REQUIRE(run_until(io, [&] { return bool(outcome); }, 5s));
    CHECK(outcome == errc::handshake_timed_out);
    CHECK(qwire::clock::now() - start >= 200ms);

    unix_qmp_connection nowhere(io);
    std::error_code refused;
    nowhere.async_connect(asio::local::stream_protocol::endpoint(qemu->dir().file("none.sock")),
                          [&](std::error_code ec) { refused = ec; });
    REQUIRE(run_until(io, [&] { return bool(refused); }, 5s));
    CHECK(refused == errc::connection_lost);
    CHECK(nowhere.disconnect_reason()->cause().value() == ENOENT);  // in asio's system category
}

TEST_CASE("asio faults: cancelling async_connect ends the session with operation_aborted") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qemu->process().signal(SIGSTOP);
    asio::io_context io;
    unix_qmp_connection conn(io);
    asio::cancellation_signal cancel;
    std::error_code outcome;
    conn.async_connect(unix_endpoint(*qemu),
                       asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code ec) { outcome = ec; }));
    REQUIRE_FALSE(run_until(io, [&] { return bool(outcome); }, 50ms));
    cancel.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return bool(outcome) && conn.is_finished(); }, 5s));
    CHECK(outcome == asio::error::operation_aborted);
}

TEST_CASE("asio: async_handshake on a socket QEMU dialed (server=off)") {
    qwire::test::temp_dir dir;
    asio::io_context io;
    asio::local::stream_protocol::acceptor acceptor(io, asio::local::stream_protocol::endpoint(dir.file("listen.sock")));
    unix_qmp_connection conn(io);
    qwire::test::qemu_options dialing;
    dialing.server = false;
    dialing.socket_path = dir.file("listen.sock");
    QWIRE_START_QEMU(qemu, dialing);
    bool accepted = false;
    acceptor.async_accept(conn.stream(), [&](std::error_code ec) {
        CHECK(!ec);
        accepted = true;
    });
    REQUIRE(run_until(io, [&] { return accepted; }, 20s));
    json version;
    conn.async_handshake([&](std::error_code ec) {
        CHECK(!ec);
        conn.async_execute("query-version", [&](std::error_code e, json v) {
            CHECK(!e);
            version = std::move(v);
        });
    });
    REQUIRE(run_until(io, [&] { return !version.is_null(); }, 10s));
    CHECK(version.contains("qemu"));
}
