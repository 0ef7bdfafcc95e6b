// Commands per second against one real QEMU (-machine none, OOB on), through the Qt adapter
// and through the epoll adapter, in one run so the two compare:
//   pipelined: 1000 query-status executed at once, the core keeping QEMU's queue of 8 full
//   sequential: one query-status at a time, the next executed when its reply arrives
// QEMU serves one client at a time; each benchmark connects, runs, and disconnects.
#include <benchmark/benchmark.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QTimer>

#include <cstdio>
#include <functional>
#include <optional>

#include "qemu_process.hpp"
#include "qwire/epoll/qmp_connection.hpp"
#include "qwire/qt/qmp_connection.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int batch = 1000;

const std::string& qmp_socket() {
    static const std::optional<qwire::test::qemu_process> qemu = [] {
        std::string why;
        auto q = qwire::test::qemu_process::start({}, why);
        if (!q) {
            std::fprintf(stderr, "cannot start QEMU: %s\n", why.empty() ? "not installed" : why.c_str());
            std::exit(1);
        }
        return q;
    }();
    return qemu->socket_path();
}

void count_commands(benchmark::State& state, int per_iteration) {
    state.counters["commands"] = benchmark::Counter(static_cast<double>(state.iterations() * per_iteration),
                                                    benchmark::Counter::kIsRate);
}

// ---- Qt ------------------------------------------------------------------------------------

// Runs the Qt event loop until done() (false after 10 s), sleeping while nothing happens.
bool spin_qt(const std::function<bool()>& done) {
    const QDeadlineTimer deadline(10s);
    QTimer wake;
    wake.start(100ms);
    while (!done() && !deadline.hasExpired()) QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    return done();
}

// Runs `body` on a ready Qt connection; `replies` counts finished replies.
void with_qt(benchmark::State& state, const std::function<void(qwire::qt::QmpConnection&, int&)>& body) {
    qwire::qt::QmpConnection qmp;
    int replies = 0;
    (void)qmp.connectToServer(QString::fromStdString(qmp_socket()));
    if (!spin_qt([&] { return qmp.isReady(); }) || !qmp.client().oob_enabled()) return state.SkipWithError("not ready");
    body(qmp, replies);
    (void)qmp.close();
    spin_qt([&] { return !qmp.isActive(); });
}

void qt_execute(qwire::qt::QmpConnection& qmp, int& replies) {
    auto* reply = qmp.execute(QStringLiteral("query-status")).value();
    QObject::connect(reply, &qwire::qt::QmpReply::finished, [&replies](const QJsonValue&) { ++replies; });
}

void qt_pipelined(benchmark::State& state) {
    with_qt(state, [&](qwire::qt::QmpConnection& qmp, int& replies) {
        for (auto _ : state) {
            replies = 0;
            for (int i = 0; i < batch; ++i) qt_execute(qmp, replies);
            if (!spin_qt([&] { return replies == batch; })) return state.SkipWithError("replies missing");
        }
        count_commands(state, batch);
    });
}

void qt_sequential(benchmark::State& state) {
    with_qt(state, [&](qwire::qt::QmpConnection& qmp, int& replies) {
        for (auto _ : state) {
            replies = 0;
            qt_execute(qmp, replies);
            if (!spin_qt([&] { return replies == 1; })) return state.SkipWithError("reply missing");
        }
        count_commands(state, 1);
    });
}

// ---- epoll ---------------------------------------------------------------------------------

void with_epoll(benchmark::State& state, const std::function<void(qwire::epoll::loop&, qwire::epoll::qmp_connection&, int&)>& body) {
    auto loop = qwire::epoll::loop::create().value();
    int replies = 0;
    auto conn = qwire::epoll::qmp_connection::connect(
                    loop, *qwire::epoll::endpoint::parse(qmp_socket()), {},
                    [&](qwire::epoll::qmp_connection&, qwire::qmp::client_event& e) {
                        replies += std::holds_alternative<qwire::qmp::reply>(e);
                    })
                    .value();
    while (!conn->is_ready() && !conn->finished()) (void)loop.run_once(1s);
    if (!conn->client().oob_enabled()) return state.SkipWithError("not ready");
    body(loop, *conn, replies);
}

void epoll_pipelined(benchmark::State& state) {
    with_epoll(state, [&](qwire::epoll::loop& loop, qwire::epoll::qmp_connection& conn, int& replies) {
        for (auto _ : state) {
            replies = 0;
            for (int i = 0; i < batch; ++i) (void)conn.execute("query-status");
            while (replies < batch) (void)loop.run_once(1s);
        }
        count_commands(state, batch);
    });
}

void epoll_sequential(benchmark::State& state) {
    with_epoll(state, [&](qwire::epoll::loop& loop, qwire::epoll::qmp_connection& conn, int& replies) {
        for (auto _ : state) {
            replies = 0;
            (void)conn.execute("query-status");
            while (replies < 1) (void)loop.run_once(1s);
        }
        count_commands(state, 1);
    });
}

}  // namespace

BENCHMARK(qt_pipelined)->MinTime(2.0)->UseRealTime();
BENCHMARK(epoll_pipelined)->MinTime(2.0)->UseRealTime();
BENCHMARK(qt_sequential)->MinTime(2.0)->UseRealTime();
BENCHMARK(epoll_sequential)->MinTime(2.0)->UseRealTime();

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
