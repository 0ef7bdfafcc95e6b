// Faults against a real QEMU: killed with commands in flight, stopped past deadlines.
#include <signal.h>

#include "loop_runner.hpp"
#include "qemu_testing.hpp"

using namespace std::chrono_literals;
using qwire::test::recorder;
using qwire::test::run_until;
namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;

namespace {

struct fixture {
    epoll::loop loop = epoll::loop::create().value();
    recorder rec;
    std::unique_ptr<epoll::qmp_connection> conn;

    void dial(const std::string& path) {
        conn = epoll::qmp_connection::connect(loop, *epoll::endpoint::parse(path), {}, rec.handler()).value();
        REQUIRE(run_until(loop, [&] { return conn->is_ready(); }, 10s));
    }
};

}  // namespace

TEST_CASE("epoll faults: kill -9 with 50 commands in flight fails all 50 in order, then one disconnect") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    fixture f;
    f.dial(qemu->socket_path());
    qemu->process().signal(SIGSTOP);  // no reply can come before the kill
    std::vector<qwire::request_id> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(f.conn->execute("query-status").value());
    qemu->process().signal(SIGKILL);
    REQUIRE(run_until(f.loop, [&] { return f.rec.disconnects == 1; }, 10s));
    const auto failed = f.rec.all<qwire::request_failed>();
    REQUIRE(failed.size() == 50);
    for (std::size_t i = 0; i < failed.size(); ++i) {
        CHECK(failed[i].id == ids[i]);
        CHECK(failed[i].error.code() == qwire::errc::connection_lost);
    }
    CHECK(std::holds_alternative<qwire::disconnect>(f.rec.events.back()));
    CHECK(f.rec.replies == 0);
    // Nothing more ever comes.
    REQUIRE_FALSE(run_until(f.loop, [&] { return f.rec.events.size() > 53; }, 100ms));
}

TEST_CASE("epoll faults: a stopped QEMU times commands out at their deadlines; after SIGCONT it works") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    fixture f;
    f.dial(qemu->socket_path());
    qemu->process().signal(SIGSTOP);
    const auto start = epoll::loop::now();
    qmp::exec_options soon;
    soon.deadline = start + 300ms;
    const auto a = f.conn->execute("query-status", nullptr, soon).value();
    soon.deadline = start + 600ms;
    const auto b = f.conn->execute("query-status", nullptr, soon).value();
    // The loop stays responsive while waiting: it returns to us at each deadline.
    REQUIRE(run_until(f.loop, [&] { return f.rec.failures == 1; }, 5s));
    CHECK(epoll::loop::now() - start >= 300ms);
    CHECK(epoll::loop::now() - start < 550ms);
    REQUIRE(run_until(f.loop, [&] { return f.rec.failures == 2; }, 5s));
    const auto failed = f.rec.all<qwire::request_failed>();
    CHECK(failed[0].id == a);
    CHECK(failed[1].id == b);
    CHECK(failed[0].error.code() == qwire::errc::timed_out);
    CHECK(f.conn->is_ready());

    qemu->process().signal(SIGCONT);
    const auto c = f.conn->execute("query-version").value();
    REQUIRE(run_until(f.loop, [&] { return f.rec.replies == 1; }, 10s));
    CHECK(f.rec.all<qmp::reply>().at(0).id == c);
    CHECK(f.conn->client().late_replies() == 2);  // the two timed-out ones, answered late
}
