// Faults through the Qt adapter against a real QEMU: killed with commands in flight, stopped
// past deadlines and through the handshake, and slots that delete the connection.
#include <signal.h>

#include "qt_testing.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::qt::QmpConnection;
using qwire::test::qt_app;
using qwire::test::qt_session;
using qwire::test::signal_log;
using qwire::test::spin_for;
using qwire::test::spin_until;

namespace {

// A connection on the heap, for slots that delete it, ready.
QmpConnection* ready_on_heap(const qwire::test::qemu_process& qemu, qwire::qt::ConnectionOptions options = {}) {
    auto* qmp = new QmpConnection(std::move(options));
    REQUIRE(qmp->connectToServer(QString::fromStdString(qemu.socket_path())));
    REQUIRE(spin_until([&] { return qmp->isReady(); }, 10s));
    return qmp;
}

}  // namespace

TEST_CASE_METHOD(qt_session, "qt faults: kill -9 with 50 commands in flight: each reply fails once, in order, then one disconnected") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    connect_ready(*qemu);
    qemu->process().signal(SIGSTOP);  // no reply can come before the kill
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(log.execute(qmp, "query-status")->id().value);
    spin_for(20ms);  // the first commands reach the socket
    qemu->process().signal(SIGKILL);
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 10s));
    REQUIRE(log.lines.size() == 52);
    CHECK(log.lines[0] == "ready");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CHECK(log.lines[i + 1] == "failed " + std::to_string(ids[i]) + " connection_lost");
        CHECK(log.outcomes[ids[i]] == 1);
    }
    CHECK(log.lines.back().rfind("disconnected ", 0) == 0);
    CHECK(log.finished == 0);
    spin_for(100ms);  // nothing more ever comes
    CHECK(log.lines.size() == 52);
    CHECK_FALSE(qmp.isActive());
}

TEST_CASE_METHOD(qt_session, "qt faults: a stopped QEMU times commands out on the QTimer; after SIGCONT the session goes on") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    connect_ready(*qemu);
    qemu->process().signal(SIGSTOP);
    const auto start = qwire::clock::now();
    qwire::qmp::exec_options soon;
    soon.deadline = start + 300ms;
    const auto a = log.execute(qmp, "query-status", {}, soon)->id().value;
    soon.deadline = start + 600ms;
    const auto b = log.execute(qmp, "query-status", {}, soon)->id().value;
    REQUIRE(spin_until([&] { return log.failed == 1; }, 5s));
    CHECK(qwire::clock::now() - start >= 300ms);
    CHECK(qwire::clock::now() - start < 550ms);
    REQUIRE(spin_until([&] { return log.failed == 2; }, 5s));
    CHECK(qwire::clock::now() - start >= 600ms);
    CHECK(log.lines[1] == "failed " + std::to_string(a) + " timed_out");
    CHECK(log.lines[2] == "failed " + std::to_string(b) + " timed_out");
    CHECK(qmp.isReady());

    qemu->process().signal(SIGCONT);
    const auto c = log.execute(qmp, "query-version")->id().value;
    REQUIRE(spin_until([&] { return log.finished == 1; }, 10s));
    CHECK(log.lines.back() == "finished " + std::to_string(c));
    CHECK(qmp.client().late_replies() == 2);
}

TEST_CASE("qt faults: QEMU that never greets ends the session at the handshake deadline") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qt_app app;
    qwire::qt::ConnectionOptions options;
    options.handshakeTimeout = 300ms;
    QmpConnection qmp(options);
    signal_log log(qmp);
    qemu->process().signal(SIGSTOP);  // the kernel accepts the connection; no greeting comes
    const auto start = qwire::clock::now();
    REQUIRE(qmp.connectToServer(QString::fromStdString(qemu->socket_path())));
    const auto held = log.execute(qmp, "query-status")->id().value;
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 5s));
    CHECK(qwire::clock::now() - start >= 300ms);
    const std::vector<std::string> expected = {"failed " + std::to_string(held) + " connection_lost",
                                               "disconnected handshake_timed_out"};
    CHECK(log.lines == expected);
    qemu->process().signal(SIGCONT);
}

TEST_CASE("qt faults: a slot may delete the connection, from a reply's failed() or from disconnected()") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    qt_app app;
    SECTION("from the first failed() of many") {
        auto* qmp = ready_on_heap(*qemu);
        qemu->process().signal(SIGSTOP);
        int failures = 0;
        for (int i = 0; i < 10; ++i) {
            QObject::connect(qmp->execute("query-status").value(), &qwire::qt::QmpReply::failed, [&] {
                ++failures;
                delete qmp;
            });
        }
        qemu->process().signal(SIGKILL);
        REQUIRE(spin_until([&] { return failures > 0; }, 10s));
        spin_for(50ms);
        CHECK(failures == 1);  // the other replies died with the connection, silently
    }
    SECTION("from disconnected(), with replies kept (no auto-delete)") {
        qwire::qt::ConnectionOptions keep;
        keep.autoDeleteReplies = false;
        auto* qmp = ready_on_heap(*qemu, keep);
        QPointer<qwire::qt::QmpReply> reply = qmp->execute("quit").value();
        int disconnects = 0;
        QObject::connect(qmp, &QmpConnection::disconnected, [&] {
            ++disconnects;
            CHECK(reply->isFinished());
            CHECK(reply->json().is_object());
            CHECK(reply->result().isObject());
            CHECK(reply->cancel().error().code() == errc::unknown_request);
            delete qmp;
        });
        REQUIRE(spin_until([&] { return disconnects > 0; }, 10s));
        spin_for(50ms);
        CHECK(disconnects == 1);
        CHECK(reply.isNull());  // a child of the connection
    }
}
