// qwire::asio::qmp_connection with plain callbacks and with asio::use_future, against real QEMU.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "asio_testing.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using qwire::errc;
using qwire::asio::unix_qmp_connection;
using qwire::test::run_until;
using qwire::test::unix_endpoint;

namespace {

// Three commands whose replies have different shapes, so that a reply handed to the wrong
// operation shows.
const char* const commands[] = {"query-status", "query-version", "query-name"};

bool shaped_like(std::size_t which, const json& v) {
    switch (which % 3) {
        case 0: return v.contains("status") && v.contains("running");
        case 1: return v.contains("qemu") && v.contains("package");
        default: return v.is_object() && !v.contains("status") && !v.contains("qemu");
    }
}

}  // namespace

TEST_CASE("asio callbacks: 1000 concurrent commands of three kinds, each reply matched to its command") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    bool connected = false;
    conn.async_connect(unix_endpoint(*qemu), [&](std::error_code ec) {
        CHECK(!ec);
        connected = true;
    });
    // Executed while connecting: the client holds them until negotiation is done.
    std::size_t done = 0, matched = 0;
    for (std::size_t i = 0; i < 1000; ++i) {
        conn.async_execute(commands[i % 3], [&, i](std::error_code ec, json v) {
            CHECK(connected);
            ++done;
            matched += !ec && shaped_like(i, v);
        });
    }
    REQUIRE(run_until(io, [&] { return done == 1000; }, 60s));
    CHECK(matched == 1000);
    CHECK(conn.client().oob_enabled());
    CHECK(conn.client().pending_requests() == 0);
}

TEST_CASE("asio callbacks: the event handler and async_wait_event see RESUME and STOP") {
    qwire::test::qemu_options guest;
    guest.guest = true;
    QWIRE_START_QEMU(qemu, guest);
    asio::io_context io;
    unix_qmp_connection conn(io);
    std::vector<std::string> seen;
    conn.set_event_handler([&](const qwire::qmp::event& e) { seen.push_back(e.name); });
    conn.async_connect(unix_endpoint(*qemu), [](std::error_code ec) { CHECK(!ec); });

    std::vector<std::string> order;
    conn.async_wait_event("RESUME", [&](std::error_code ec, qwire::qmp::event e) {
        CHECK(!ec);
        order.push_back("event " + e.name);
    });
    conn.async_execute("cont", [&](std::error_code ec, json) {
        CHECK(!ec);
        order.push_back("reply cont");
    });
    REQUIRE(run_until(io, [&] { return order.size() == 2; }, 10s));
    CHECK(order == std::vector<std::string>{"event RESUME", "reply cont"});  // QEMU sends the event first

    // An event nobody waits for is kept: this wait starts after `stop` has been answered.
    bool stopped = false;
    conn.async_execute("stop", [&](std::error_code ec, json) {
        CHECK(!ec);
        conn.async_wait_event("STOP", [&](std::error_code e, qwire::qmp::event ev) {
            CHECK(!e);
            CHECK(ev.name == "STOP");
            stopped = true;
        });
    });
    REQUIRE(run_until(io, [&] { return stopped; }, 10s));
    CHECK(seen == std::vector<std::string>{"RESUME", "STOP"});
}

TEST_CASE("asio callbacks: bind_cancellation_slot cancels one command and one wait; the rest go on") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    bool ready = false;
    conn.async_connect(unix_endpoint(*qemu), [&](std::error_code ec) { ready = !ec; });
    REQUIRE(run_until(io, [&] { return ready; }, 10s));

    qemu->process().signal(SIGSTOP);
    asio::cancellation_signal cancel_command, cancel_wait;
    std::vector<std::error_code> outcomes(3);
    std::size_t done = 0;
    conn.async_execute("query-status", asio::bind_cancellation_slot(cancel_command.slot(), [&](std::error_code ec, json) {
                           outcomes[0] = ec;
                           ++done;
                       }));
    conn.async_execute("query-name", [&](std::error_code ec, json) {
        outcomes[1] = ec;
        ++done;
    });
    conn.async_wait_event("SHUTDOWN", asio::bind_cancellation_slot(cancel_wait.slot(), [&](std::error_code ec, auto) {
                              outcomes[2] = ec;
                              ++done;
                          }));
    REQUIRE_FALSE(run_until(io, [&] { return done > 0; }, 50ms));
    cancel_command.emit(asio::cancellation_type::terminal);
    cancel_wait.emit(asio::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return done == 2; }, 5s));
    CHECK(outcomes[0] == asio::error::operation_aborted);
    CHECK(outcomes[2] == asio::error::operation_aborted);

    qemu->process().signal(SIGCONT);
    REQUIRE(run_until(io, [&] { return done == 3; }, 10s));
    CHECK(!outcomes[1]);  // the second command was answered after the cancelled one's late reply
    CHECK(conn.client().late_replies() == 1);
}

TEST_CASE("asio use_future: connect, 300 commands and a STOP from the test thread, on a two-thread io_context") {
    qwire::test::qemu_options guest;
    guest.guest = true;
    QWIRE_START_QEMU(qemu, guest);
    qwire::test::io_pool pool(2);
    unix_qmp_connection conn(pool.io);
    auto connected = conn.async_connect(unix_endpoint(*qemu), asio::use_future);
    qwire::test::wait_for(connected, 10s);
    CHECK(conn.is_ready());

    std::vector<std::future<json>> replies;
    for (std::size_t i = 0; i < 300; ++i) replies.push_back(conn.async_execute(commands[i % 3], asio::use_future));
    std::size_t matched = 0;
    for (std::size_t i = 0; i < replies.size(); ++i) matched += shaped_like(i, qwire::test::wait_for(replies[i]));
    CHECK(matched == 300);

    auto resumed = conn.async_wait_event("RESUME", asio::use_future);
    auto cont = conn.async_execute("cont", asio::use_future);
    CHECK(qwire::test::wait_for(resumed).name == "RESUME");
    CHECK(qwire::test::wait_for(cont) == json::object());
    auto stopped = conn.async_wait_event("STOP", asio::use_future);
    auto stop = conn.async_execute("stop", asio::use_future);
    CHECK(qwire::test::wait_for(stop) == json::object());
    CHECK(qwire::test::wait_for(stopped).name == "STOP");

    auto unknown = conn.async_execute("no-such-command", asio::use_future);
    CHECK(qwire::test::error_of([&] { qwire::test::wait_for(unknown); }) == errc::command_failed);
    auto closed = conn.async_close(asio::use_future);
    qwire::test::wait_for(closed);
    CHECK(conn.is_finished());
    auto after = conn.async_execute("query-status", asio::use_future);
    CHECK(qwire::test::error_of([&] { qwire::test::wait_for(after); }) == errc::invalid_state);
}

TEST_CASE("asio: getfd passes a descriptor with SCM_RIGHTS on a Unix socket") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    asio::io_context io;
    unix_qmp_connection conn(io);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::vector<std::error_code> outcomes;
    conn.async_connect(unix_endpoint(*qemu), [](std::error_code ec) { CHECK(!ec); });
    qwire::qmp::exec_options with_fd;
    with_fd.fds = {pipe_fds[0]};
    conn.async_execute("getfd", {{"fdname", "qwire-pipe"}}, with_fd,
                       [&](std::error_code ec, json) { outcomes.push_back(ec); });
    conn.async_execute("closefd", {{"fdname", "qwire-pipe"}}, [&](std::error_code ec, json) { outcomes.push_back(ec); });
    // Without a descriptor QEMU has nothing to name: an error reply, not a broken session.
    conn.async_execute("getfd", {{"fdname", "none"}}, [&](std::error_code ec, json) { outcomes.push_back(ec); });
    REQUIRE(run_until(io, [&] { return outcomes.size() == 3; }, 10s));
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    CHECK(!outcomes[0]);
    CHECK(!outcomes[1]);
    CHECK(outcomes[2] == errc::command_failed);
    CHECK(conn.is_ready());
}
