// Qt test support: an application object per test case (main() belongs to the shared Catch2
// main), spinning the event loop with a deadline, and one ordered log of every signal of a
// QmpConnection and of its replies.
#pragma once

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QTimer>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qemu_testing.hpp"
#include "qwire/qt/json.hpp"
#include "qwire/qt/qmp_connection.hpp"

namespace qwire::test {

/// A QCoreApplication for the test case that declares it (unless one exists already).
class qt_app {
public:
    qt_app() {
        if (QCoreApplication::instance() == nullptr) app_ = std::make_unique<QCoreApplication>(argc_, argv_);
    }

private:
    static inline char name_[] = "test_qt";
    static inline char* argv_[] = {name_, nullptr};
    static inline int argc_ = 1;
    std::unique_ptr<QCoreApplication> app_;
};

/// Runs the event loop until `done()` or `timeout`; true when done. It sleeps while nothing
/// happens, woken every 10 ms to look at the deadline (processEvents() with a time limit
/// would spin instead, and one timer at the deadline may fire a little early).
inline bool spin_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    using namespace std::chrono_literals;
    const QDeadlineTimer deadline(timeout);
    QTimer wake;
    wake.start(10ms);
    while (!done()) {
        if (deadline.hasExpired()) return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

/// Runs the event loop for `time`, whatever happens.
inline void spin_for(std::chrono::milliseconds time) {
    spin_until([] { return false; }, time);
}

/// Every signal of one connection and of the replies it tracks, as lines in the order the
/// slots ran: "ready", "event STOP", "finished 3", "failed 3 connection_lost", "disconnected
/// peer_closed". The receiving context and the connection type are the caller's.
class signal_log {
public:
    signal_log(qt::QmpConnection& connection, QObject* context = nullptr,
               Qt::ConnectionType type = Qt::AutoConnection)
        : context_(context != nullptr ? context : &connection), type_(type) {
        QObject::connect(&connection, &qt::QmpConnection::ready, context_, [this] { add("ready"); }, type_);
        QObject::connect(&connection, &qt::QmpConnection::eventReceived, context_,
                         [this](const QString& name, const QJsonObject& data, const QDateTime& when) {
                             add("event " + name.toStdString());
                             event_data.push_back(qt::toJson(data));
                             event_times.push_back(when);
                         },
                         type_);
        QObject::connect(&connection, &qt::QmpConnection::protocolViolation, context_,
                         [this](const error& e) { add("violation " + std::string(to_string(e.code()))); }, type_);
        QObject::connect(&connection, &qt::QmpConnection::disconnected, context_,
                         [this](const error& reason) {
                             ++disconnects;
                             reasons.push_back(reason);
                             add("disconnected " + std::string(to_string(reason.code())));
                         },
                         type_);
    }

    /// Logs the reply's signals; returns it.
    qt::QmpReply* track(qt::QmpReply* reply) {
        const auto id = reply->id().value;
        QObject::connect(reply, &qt::QmpReply::finished, context_,
                         [this, id](const QJsonValue& result) {
                             ++outcomes[id];
                             ++finished;
                             results[id] = qt::toJson(result);
                             add("finished " + std::to_string(id));
                         },
                         type_);
        QObject::connect(reply, &qt::QmpReply::failed, context_,
                         [this, id](const error& e) {
                             ++outcomes[id];
                             ++failed;
                             errors.emplace(id, e);
                             add("failed " + std::to_string(id) + " " + std::string(to_string(e.code())));
                         },
                         type_);
        return reply;
    }

    /// Executes and tracks; fails the test when execute() refuses.
    qt::QmpReply* execute(qt::QmpConnection& connection, const QString& command,
                          const QJsonObject& arguments = {}, qmp::exec_options options = {}) {
        auto reply = connection.execute(command, arguments, std::move(options));
        REQUIRE(reply);
        return track(*reply);
    }

    [[nodiscard]] std::size_t count(const std::string& prefix) const {
        std::size_t n = 0;
        for (const auto& line : lines) n += line.rfind(prefix, 0) == 0;
        return n;
    }

    std::vector<std::string> lines;
    std::vector<nlohmann::json> event_data;
    std::vector<QDateTime> event_times;
    std::map<std::uint64_t, int> outcomes;  // signals per request id
    std::map<std::uint64_t, nlohmann::json> results;
    std::multimap<std::uint64_t, error> errors;
    std::vector<error> reasons;
    std::size_t finished = 0, failed = 0, disconnects = 0;

private:
    void add(std::string line) { lines.push_back(std::move(line)); }

    QObject* context_;
    Qt::ConnectionType type_;
};

/// A test case's application, one connection and its log: the fixture of TEST_CASE_METHOD.
class qt_session {
public:
    /// Starts a session with QEMU's monitor.
    void connect(const qemu_process& qemu) {
        REQUIRE(qmp.connectToServer(QString::fromStdString(qemu.socket_path())));
    }

    /// Starts a session and waits until it is ready.
    void connect_ready(const qemu_process& qemu) {
        connect(qemu);
        using namespace std::chrono_literals;
        REQUIRE(spin_until([&] { return qmp.isReady(); }, 10s));
    }

protected:
    qt_app app;
    qt::QmpConnection qmp;
    signal_log log{qmp};
};

}  // namespace qwire::test
