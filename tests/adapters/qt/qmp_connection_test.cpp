// qwire::qt::QmpConnection against real qemu-system-x86_64 processes.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QTcpServer>

#include <cstring>

#include "qt_testing.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::qt::QmpConnection;
using qwire::qt::QmpReply;
using qwire::test::qt_session;
using qwire::test::signal_log;
using qwire::test::spin_until;
using json = nlohmann::json;

TEST_CASE_METHOD(qt_session, "qt: connect, negotiate, 200 pipelined commands, each answered once and in order") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    connect(*qemu);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 200; ++i) {  // held by the core until negotiation is done
        ids.push_back(log.execute(qmp, i % 2 ? "query-status" : "query-name")->id().value);
    }
    CHECK(log.lines.empty());  // no signal from inside a call
    REQUIRE(spin_until([&] { return log.finished + log.failed == 200 || log.disconnects > 0; }, 60s));
    CHECK(qmp.isReady());
    CHECK(qmp.client().oob_enabled());
    REQUIRE(log.lines.size() == 201);
    CHECK(log.lines[0] == "ready");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CHECK(log.lines[i + 1] == "finished " + std::to_string(ids[i]));  // in-band: in order
        CHECK(log.outcomes[ids[i]] == 1);
    }
    CHECK(log.results[ids[1]].contains("status"));
    CHECK(log.results[ids[0]].is_object());
    CHECK(qmp.client().pending_requests() == 0);
}

TEST_CASE_METHOD(qt_session, "qt: events arrive while commands are pending, in QEMU's order, for direct and queued slots alike") {
    qwire::test::qemu_options guest;
    guest.guest = true;
    QWIRE_START_QEMU(qemu, guest);
    signal_log& direct = log;
    QObject receiver;
    signal_log queued(qmp, &receiver, Qt::QueuedConnection);
    connect(*qemu);
    std::vector<std::string> expected = {"ready"};
    for (const char* command : {"cont", "stop", "query-status", "cont", "query-status", "stop"}) {
        auto reply = qmp.execute(command).value();
        direct.track(reply);
        queued.track(reply);
        if (std::strcmp(command, "cont") == 0) expected.emplace_back("event RESUME");  // before its reply
        if (std::strcmp(command, "stop") == 0) expected.emplace_back("event STOP");
        expected.push_back("finished " + std::to_string(reply->id().value));
    }
    REQUIRE(spin_until([&] { return queued.finished + queued.failed == 6 || direct.disconnects > 0; }, 20s));
    CHECK(direct.lines == expected);
    CHECK(queued.lines == direct.lines);
    // Event payloads and QEMU's timestamps arrive converted.
    REQUIRE(direct.event_times.size() == 4);
    for (const auto& when : direct.event_times) {
        CHECK(when.isValid());
        CHECK(std::abs(when.secsTo(QDateTime::currentDateTimeUtc())) < 60);
    }
    CHECK(direct.event_data[1] == json::object());  // STOP has no data
}

TEST_CASE_METHOD(qt_session, "qt: quit gives SHUTDOWN, then disconnected once, and the connection goes idle") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    connect(*qemu);
    const auto quit = log.execute(qmp, "quit")->id().value;
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 10s));
    const std::vector<std::string> expected = {"ready", "event SHUTDOWN", "finished " + std::to_string(quit),
                                               "disconnected peer_closed"};
    CHECK(log.lines == expected);
    CHECK(log.event_data[0]["reason"] == "host-qmp-quit");
    CHECK_FALSE(qmp.isActive());
    CHECK(qmp.device() == nullptr);
    CHECK(qmp.execute("query-status").error().code() == errc::invalid_state);
    CHECK(qmp.close().error().code() == errc::invalid_state);
    qwire::test::spin_for(50ms);
    CHECK(log.disconnects == 1);
}

TEST_CASE_METHOD(qt_session, "qt: close() fails pending replies with cancelled after it returns, then disconnected(closed); reconnect") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    connect_ready(*qemu);
    const auto path = QString::fromStdString(qemu->socket_path());
    const auto a = log.execute(qmp, "query-status")->id().value;
    const auto b = log.execute(qmp, "query-version")->id().value;
    REQUIRE(qmp.close());
    CHECK(qmp.device() == nullptr);  // the transport closes at once
    CHECK(log.lines == std::vector<std::string>{"ready"});
    CHECK(qmp.close().error().code() == errc::invalid_state);
    CHECK(qmp.connectToServer(path).error().code() == errc::invalid_state);  // until disconnected()
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 5s));
    const std::vector<std::string> expected = {"ready", "failed " + std::to_string(a) + " cancelled",
                                               "failed " + std::to_string(b) + " cancelled", "disconnected closed"};
    CHECK(log.lines == expected);

    // A new session on the same object, with a fresh core.
    REQUIRE(qmp.connectToServer(path));
    const auto c = log.execute(qmp, "query-version")->id().value;
    REQUIRE(spin_until([&] { return log.finished == 1; }, 10s));
    CHECK(log.results[c]["qemu"]["major"].get<int>() >= 7);
    CHECK(log.count("ready") == 2);
}

TEST_CASE_METHOD(qt_session, "qt: TCP, and a QLocalSocket handed over already connected") {
    quint16 port = 0;
    {
        QTcpServer probe;
        REQUIRE(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    qwire::test::qemu_options tcp;
    tcp.extra_args = {"-qmp", "tcp:127.0.0.1:" + std::to_string(port) + ",server=on,wait=off"};
    QWIRE_START_QEMU(qemu, tcp);

    // QEMU opens its TCP monitor just after the Unix one the launcher waited for.
    for (int attempt = 0; attempt < 50 && !qmp.isReady(); ++attempt) {
        if (!qmp.isActive()) REQUIRE(qmp.connectToHost("127.0.0.1", port));
        if (!spin_until([&] { return qmp.isReady() || !qmp.isActive(); }, 10s)) break;
        if (!qmp.isActive()) qwire::test::spin_for(20ms);
    }
    REQUIRE(qmp.isReady());
    const auto id = log.execute(qmp, "query-version")->id().value;
    REQUIRE(spin_until([&] { return log.finished + log.failed == 1; }, 10s));
    CHECK(log.results[id]["qemu"]["major"].get<int>() >= 7);

    auto* socket = new QLocalSocket;
    socket->connectToServer(QString::fromStdString(qemu->socket_path()));
    REQUIRE(spin_until([&] { return socket->state() == QLocalSocket::ConnectedState; }, 5s));
    REQUIRE(spin_until([&] { return socket->bytesAvailable() > 0; }, 5s));  // the greeting waits unread
    QmpConnection handed;
    signal_log handed_log(handed);
    REQUIRE(handed.openDevice(socket));
    CHECK(socket->parent() == &handed);
    const auto status = handed_log.execute(handed, "query-status")->id().value;
    REQUIRE(spin_until([&] { return handed_log.finished == 1; }, 10s));
    CHECK(handed_log.results[status].contains("status"));
    CHECK(handed.openDevice(nullptr).error().code() == errc::invalid_state);
}

TEST_CASE_METHOD(qt_session, "qt: refused calls: fds, OOB before ready, no session, no device") {
    CHECK(qmp.execute("query-status").error().code() == errc::invalid_state);
    CHECK(qmp.close().error().code() == errc::invalid_state);
    CHECK(qmp.cancel(qwire::request_id{1}).error().code() == errc::invalid_state);
    CHECK(qmp.openDevice(nullptr).error().code() == errc::invalid_argument);
    QLocalSocket closed;
    CHECK(qmp.openDevice(&closed).error().code() == errc::invalid_argument);

    qwire::test::temp_dir dir;
    REQUIRE(qmp.connectToServer(QString::fromStdString(dir.file("nothing.sock"))));
    qwire::qmp::exec_options with_fd;
    with_fd.fds = {0};
    CHECK(qmp.execute("getfd", json{{"fdname", "x"}}, with_fd).error().code() == errc::not_supported);
    qwire::qmp::exec_options oob;
    oob.oob = true;
    CHECK(qmp.execute("query-status", QJsonObject{}, oob).error().code() == errc::invalid_state);
}

TEST_CASE_METHOD(qt_session, "qt: a refused connection fails the held commands, then disconnected(connection_lost)") {
    qwire::test::temp_dir dir;
    // A socket file nobody listens on: connect() is refused.
    const std::string path = dir.file("refusing.sock");
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

    REQUIRE(qmp.connectToServer(QString::fromStdString(path)));
    const auto held = log.execute(qmp, "query-status")->id().value;
    CHECK(log.lines.empty());
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 5s));
    ::close(fd);
    const std::vector<std::string> expected = {"failed " + std::to_string(held) + " connection_lost",
                                               "disconnected connection_lost"};
    CHECK(log.lines == expected);
    const auto cause = log.reasons.at(0).cause();
    CHECK(cause.category().name() == std::string("qt.socket"));
    CHECK(cause == std::errc::connection_refused);
    CHECK_FALSE(qmp.transportErrorString().isEmpty());

    // No file at all: the server is not found.
    REQUIRE(qmp.connectToServer(QString::fromStdString(dir.file("absent.sock"))));
    REQUIRE(spin_until([&] { return log.disconnects == 2; }, 5s));
    CHECK(log.reasons.at(1).code() == errc::connection_lost);
    CHECK(log.reasons.at(1).message().find("not found") != std::string::npos);
}
