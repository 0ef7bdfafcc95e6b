// qwire::epoll::qmp_connection against real qemu-system-x86_64 processes.
#include "qwire/epoll/qmp_connection.hpp"

#include <signal.h>

#include "loop_runner.hpp"
#include "qemu_testing.hpp"

using namespace std::chrono_literals;
using qwire::test::recorder;
using qwire::test::run_until;
namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;

namespace {

epoll::loop make_loop() {
    auto l = epoll::loop::create();
    REQUIRE(l);
    return std::move(*l);
}

std::unique_ptr<epoll::qmp_connection> dial(epoll::loop& loop, const std::string& path, recorder& rec,
                                            epoll::connection_options options = {}) {
    auto c = epoll::qmp_connection::connect(loop, *epoll::endpoint::parse(path), std::move(options), rec.handler());
    REQUIRE(c);
    return std::move(*c);
}

}  // namespace

TEST_CASE("epoll: 1000 pipelined query-status with OOB, each reply matched to its request") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto loop = make_loop();
    recorder rec;
    auto conn = dial(loop, qemu->socket_path(), rec);
    std::vector<qwire::request_id> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back(conn->execute("query-status").value());  // held until ready
    REQUIRE(run_until(loop, [&] { return rec.replies == 1000 || rec.disconnects > 0; }, 60s));
    REQUIRE(conn->client().oob_enabled());
    const auto replies = rec.all<qmp::reply>();
    REQUIRE(replies.size() == 1000);
    for (std::size_t i = 0; i < replies.size(); ++i) {
        CHECK(replies[i].id == ids[i]);  // in-band replies come back in order
        CHECK(replies[i].value.contains("status"));
    }
    CHECK(conn->client().pending_requests() == 0);
}

TEST_CASE("epoll: an OOB command overtakes a slow in-band one, both matched") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto loop = make_loop();
    recorder rec;
    auto conn = dial(loop, qemu->socket_path(), rec);
    REQUIRE(run_until(loop, [&] { return conn->is_ready(); }, 10s));
    const auto slow = conn->execute("query-qmp-schema").value();
    qmp::exec_options oob;
    oob.oob = true;
    const auto fast = conn->execute("query-yank", nullptr, oob).value();
    REQUIRE(run_until(loop, [&] { return rec.replies == 2; }, 10s));
    const auto replies = rec.all<qmp::reply>();
    REQUIRE(replies.size() == 2);
    CHECK(replies[0].id == fast);
    CHECK(replies[1].id == slow);
    CHECK(replies[0].value.is_array());
    CHECK(replies[1].value.dump().size() > 100'000);
}

TEST_CASE("epoll: quit gives SHUTDOWN, then the reply, then disconnect with an orderly reason") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto loop = make_loop();
    recorder rec;
    auto conn = dial(loop, qemu->socket_path(), rec);
    const auto quit = conn->execute("quit").value();
    REQUIRE(run_until(loop, [&] { return rec.disconnects == 1; }, 10s));
    const auto& e = rec.events;
    REQUIRE(e.size() == 5);
    CHECK(std::holds_alternative<qmp::greeting>(e[0]));
    CHECK(std::holds_alternative<qmp::ready>(e[1]));
    CHECK(std::get<qmp::event>(e[2]).name == "SHUTDOWN");
    CHECK(std::get<qmp::reply>(e[3]).id == quit);
    CHECK(std::get<qwire::disconnect>(e[4]).reason.code() == qwire::errc::peer_closed);
    CHECK(conn->finished());
    CHECK(conn->execute("query-status").error().code() == qwire::errc::invalid_state);
}

TEST_CASE("epoll: accept mode, QEMU dials our socket (server=off)") {
    qwire::test::temp_dir dir;
    auto loop = make_loop();
    recorder rec;
    auto conn = epoll::qmp_connection::accept(loop, dir.file("listen.sock"), {}, rec.handler());
    REQUIRE(conn);
    const auto id = (*conn)->execute("query-version").value();  // held until QEMU dials and greets
    qwire::test::qemu_options dialing;
    dialing.server = false;
    dialing.socket_path = dir.file("listen.sock");
    QWIRE_START_QEMU(qemu, dialing);
    REQUIRE(run_until(loop, [&] { return rec.replies == 1 || rec.disconnects > 0; }, 20s));
    const auto replies = rec.all<qmp::reply>();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].id == id);
    CHECK(replies[0].value.contains("qemu"));
}

TEST_CASE("epoll: reconnect after QEMU dies, to a new QEMU on the same socket") {
    qwire::test::temp_dir dir;
    qwire::test::qemu_options options;
    options.socket_path = dir.file("qmp.sock");
    auto loop = make_loop();
    recorder rec;
    epoll::connection_options policy;
    policy.reconnect = epoll::reconnect_policy{20ms, 200ms, 2.0, 0};
    std::unique_ptr<epoll::qmp_connection> conn;
    {
        QWIRE_START_QEMU(first, options);
        conn = dial(loop, first->socket_path(), rec, policy);
        REQUIRE(run_until(loop, [&] { return conn->is_ready(); }, 10s));
        const auto before = conn->execute("query-status").value();
        first->process().signal(SIGSTOP);  // make sure the command is still in flight
        REQUIRE(run_until(loop, [&] { return false; }, 50ms) == false);
        first->process().kill_and_reap();
        REQUIRE(run_until(loop, [&] { return rec.disconnects == 1; }, 10s));
        const auto failed = rec.all<qwire::request_failed>();
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].id == before);
        CHECK(failed[0].error.code() == qwire::errc::connection_lost);
    }
    // The connection keeps dialing with backoff until a new QEMU listens at the same path.
    REQUIRE(run_until(loop, [&] { return false; }, 150ms) == false);
    CHECK(conn->is_ready() == false);
    QWIRE_START_QEMU(second, options);
    const auto after = conn->execute("query-version").value();  // held by the fresh client
    REQUIRE(run_until(loop, [&] { return rec.replies == 1; }, 20s));
    CHECK(rec.readies == 2);
    CHECK(conn->connections() == 2);
    CHECK(rec.all<qmp::reply>().at(0).id == after);
}

TEST_CASE("epoll: one loop serves 20 QEMU processes, 200 commands each") {
    constexpr int count = 20;
    std::vector<qwire::test::qemu_process> qemus;
    for (int i = 0; i < count; ++i) {
        QWIRE_START_QEMU(q, qwire::test::qemu_options{});
        qemus.push_back(std::move(*q));
    }
    auto loop = make_loop();
    std::vector<recorder> recs(count);
    std::vector<std::unique_ptr<epoll::qmp_connection>> conns;
    for (int i = 0; i < count; ++i) {
        conns.push_back(dial(loop, qemus[static_cast<std::size_t>(i)].socket_path(), recs[static_cast<std::size_t>(i)]));
        for (int k = 0; k < 200; ++k) {
            const auto sent = conns.back()->execute(k % 2 ? "query-status" : "query-name");
            INFO("connection " << i << ", command " << k << ": " << (sent ? std::string("sent") : sent.error().message())
                               << "\nQEMU said: " << qemus[static_cast<std::size_t>(i)].log());
            REQUIRE(sent);
        }
    }
    auto all_done = [&] {
        for (const auto& r : recs) {
            if (r.replies + r.failures < 200 && r.disconnects == 0) return false;
        }
        return true;
    };
    REQUIRE(run_until(loop, all_done, 120s));
    for (std::size_t i = 0; i < recs.size(); ++i) {
        const auto ends = recs[i].all<qwire::disconnect>();
        INFO("connection " << i << (ends.empty() ? std::string() : " ended: " + ends.front().reason.message())
                           << "\nQEMU said: " << qemus[i].log());
        CHECK(recs[i].replies == 200);
        CHECK(ends.empty());
    }
}
