/// \file
/// \brief A QMP session as a QObject, over QLocalSocket, QTcpSocket or
/// QSslSocket, driven by the Qt event loop.
///
/// A QmpConnection owns one transport (a QIODevice) and one qwire::qmp::client and moves bytes
/// between them: readyRead feeds receive(), pending_output() goes to QIODevice::write(), the end
/// of the stream and socket errors become receive_eof()/transport_failed(), and one QTimer is
/// armed from next_deadline(). Every event of the core becomes a signal. All protocol decisions
/// stay in qmp::client; no nested event loop and no waitFor*() runs inside this class.
///
/// Usage:
///
///     auto* qmp = new qwire::qt::QmpConnection(this);
///     connect(qmp, &QmpConnection::eventReceived, this, &Monitor::onEvent);
///     qmp->connectToServer("/run/vm/qmp.sock");       // commands may be executed at once:
///     auto reply = qmp->execute("query-status");      // they are sent after negotiation
///     connect(*reply, &QmpReply::finished, this, [](const QJsonValue& r) { … });
///
/// Reply handle: execute() returns a QmpReply, a QObject with finished(result) and
/// failed(error), rather than a QFuture. Replies arrive on the connection's own thread, so
/// QFuture's thread-safe shared state buys nothing; its failure path is exceptions
/// (QPromise::setException, QFuture::onFailed) where qwire's errors are values; and QFuture's
/// continuations cannot keep the ordering below, because a continuation runs when its future
/// is resolved, not in the order of the connection's other signals. A QmpReply's signals are
/// emitted from the same delivery loop as the connection's, so they keep that order, and the
/// handle can also cancel() its request.
///
/// Ordering guarantee: every signal, of the connection and of its replies, is emitted from one
/// delivery loop in the order the core produced its events, which is the order QEMU sent them
/// (an event before the reply that follows it: STOP before the reply to `stop`). With direct
/// connections the slots run in that order. With queued connections to receivers in one thread
/// the signals are posted to that thread in that order and Qt runs them in posting order, so
/// queued delivery reorders nothing either. (Receivers spread over several threads each see
/// their own signals in order; across threads, Qt promises nothing.)
///
/// Signals are only emitted from the event loop: never from inside a call to this class
/// (connectToServer, execute, cancel, close, …), so a slot can be connected to a reply right
/// after execute() returns. For every session: ready() once negotiation is done (unless the
/// session ends first); then eventReceived() and the replies' signals as they come;
/// protocolViolation() for non-fatal peer errors; and disconnected() exactly once, last,
/// after every pending reply has failed (in request order). After disconnected() the
/// connection is idle and connectToServer() may start a new session with a fresh qmp::client.
///
/// Replies: each execute() makes one QmpReply (a child of the connection) that emits exactly one
/// of finished(result) (a `return`, or completion of a fire-and-forget command) or
/// failed(error) (an error reply as errc::command_failed with its error class, or the core's
/// timed_out / cancelled / connection_lost). With autoDeleteReplies (the default) the reply is
/// deleteLater()'d right after that signal: use it in the slot, keep the values, not the
/// pointer. Deleting a pending reply does not cancel its request (call cancel() first); its
/// outcome is then dropped.
///
/// Slots may call execute(), cancel(), close() and connectToServer() (after disconnected()),
/// and may delete the connection (deleteLater() is still the better habit). Destroying the
/// connection closes the transport and deletes its replies without emitting any signal.
///
/// File descriptors: not supported. QLocalSocket has no way to send SCM_RIGHTS ancillary data
/// (nor have QTcpSocket or a generic QIODevice), so execute() refuses exec_options::fds with
/// errc::not_supported; use the epoll adapter for `getfd` / `add-fd`.
///
/// Not thread-safe: use a connection from the thread it lives in (which needs an event loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <system_error>
#include <unordered_map>

#include <QtCore/QDateTime>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QString>
#include <QtNetwork/qtnetworkglobal.h>
#if QT_CONFIG(ssl)
#include <QtNetwork/QSslConfiguration>
#endif

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/qmp/client.hpp"

class QIODevice;
class QTimer;

namespace qwire::qt {

class QmpConnection;

/// The std::error_category of Qt socket errors, named "qt.socket": an error_code's value is a
/// QAbstractSocket::SocketError (QLocalSocket::LocalSocketError uses the same numbers). Codes
/// with an errno equivalent compare equal to it, e.g. std::errc::connection_refused.
/// disconnected(reason).cause() carries one when a socket error ended the session.
[[nodiscard]] QWIRE_API const std::error_category& socketErrorCategory() noexcept;

/// Options of a QmpConnection, fixed at construction.
struct ConnectionOptions {
    /// Limits and defaults of the core; handshake_deadline is set anew at each connect.
    qmp::client_options client;
    /// From connectTo*() until the transport is up (for TLS: encrypted).
    std::chrono::milliseconds connectTimeout{5000};
    /// From connectTo*() (or openDevice()) until ready().
    std::chrono::milliseconds handshakeTimeout{10000};
    /// deleteLater() each reply right after its finished() or failed() signal.
    bool autoDeleteReplies = true;
};

/// The handle of one command: emits exactly one of finished() or failed(), from the event loop.
class QWIRE_API QmpReply final : public QObject {
    Q_OBJECT

public:
    ~QmpReply() override;

    // Getters.
    /// The core's id of the command, for QmpConnection::cancel().
    [[nodiscard]] qwire::request_id id() const noexcept { return id_; }
    /// The command name, e.g. "query-status".
    [[nodiscard]] const QString& command() const noexcept { return command_; }
    /// True once finished() or failed() has been emitted.
    [[nodiscard]] bool isFinished() const noexcept { return done_; }
    /// The `return` value as nlohmann::json (null until finished, and for fire-and-forget).
    [[nodiscard]] const nlohmann::json& json() const noexcept { return value_; }
    /// The `return` value as a QJsonValue (Undefined until finished, and for fire-and-forget).
    [[nodiscard]] QJsonValue result() const;
    /// Why the command failed, once failed() was emitted.
    [[nodiscard]] const std::optional<qwire::error>& error() const noexcept { return error_; }

    // Commands.
    /// Gives up on the command: failed(cancelled) follows from the event loop, and a reply that
    /// still comes is dropped. unknown_request once it has an outcome (or its outcome is
    /// already on its way); invalid_state when the connection is gone.
    tl::expected<void, qwire::error> cancel();

Q_SIGNALS:
    /// The command succeeded: QEMU's `return` value (Undefined for fire-and-forget commands).
    void finished(const QJsonValue& result);
    /// The command failed: command_failed (QEMU's error reply; see error_class() and detail()),
    /// timed_out, cancelled or connection_lost.
    void failed(const qwire::error& error);

private:
    friend class QmpConnection;
    QmpReply(QmpConnection* connection, qwire::request_id id, QString command);
    void succeed(nlohmann::json value, bool hasValue);
    void fail(qwire::error error);

    QmpConnection* connection_;  // null once the connection is gone or the outcome is known
    qwire::request_id id_;
    QString command_;
    nlohmann::json value_;
    std::optional<qwire::error> error_;
    bool hasValue_ = false;
    bool done_ = false;
};

/// A QMP session as a QObject on the Qt event loop (see the file comment).
class QWIRE_API QmpConnection final : public QObject {
    Q_OBJECT

public:
    /// An idle connection with default options: call one of the connectTo*() functions.
    explicit QmpConnection(QObject* parent = nullptr);
    /// The same with `options`.
    explicit QmpConnection(ConnectionOptions options, QObject* parent = nullptr);
    ~QmpConnection() override;

    // Getters.
    /// The core of the current (or last) session: greeting(), oob_enabled(), counters.
    [[nodiscard]] const qmp::client& client() const noexcept { return client_; }
    /// True from ready() until the session ends: commands are written at once.
    [[nodiscard]] bool isReady() const noexcept { return client_.is_ready(); }
    /// True from connectTo*() / openDevice() until disconnected() has been emitted.
    [[nodiscard]] bool isActive() const noexcept { return phase_ != Phase::Idle; }
    /// The transport of the current session, or null.
    [[nodiscard]] QIODevice* device() const noexcept { return device_; }
    /// Qt's description of the last socket error (the error code is in disconnected()'s
    /// reason.cause()); empty when none.
    [[nodiscard]] const QString& transportErrorString() const noexcept { return transportError_; }

    // Connecting. Each starts a session with a fresh qmp::client; the socket starts connecting
    // when control returns to the event loop, so commands executed right after are held and
    // sent after negotiation, whatever the transport. Errors: invalid_state while a session is
    // active (wait for disconnected(), or close() first). A failed connection is not an error
    // here: pending replies fail and disconnected() reports it (connection_lost, cause() e.g.
    // std::errc::connection_refused, or std::errc::timed_out after connectTimeout).
    /// A Unix socket path (QLocalSocket), e.g. QEMU's `-qmp unix:PATH,server=on,wait=off`.
    tl::expected<void, qwire::error> connectToServer(const QString& path);
    /// TCP (QTcpSocket, no delay), e.g. QEMU's `-qmp tcp:HOST:PORT,server=on,wait=off`.
    tl::expected<void, qwire::error> connectToHost(const QString& host, quint16 port);
#if QT_CONFIG(ssl)
    /// TLS (QSslSocket), e.g. a QMP chardev with `tls-creds`. The session starts once the
    /// socket is encrypted; certificate errors end it (SslHandshakeFailedError), unless
    /// `configuration` allows them. not_supported when Qt has no TLS backend. Beware QEMU 7.2:
    /// its TLS monitor leaves all but the first byte of a TLS record unread until the next
    /// record comes, so a command waits for the next one (see tests/adapters/qt/tls_test.cpp).
    tl::expected<void, qwire::error> connectToHostEncrypted(const QString& host, quint16 port,
                                                          const QSslConfiguration& configuration =
                                                              QSslConfiguration::defaultConfiguration());
#endif
    /// An open device already connected to QMP (a socket in ConnectedState, a QSslSocket that
    /// is encrypted or handshaking, a QProcess, …), living in this thread. The connection takes
    /// it over: reparents it, and closes and deletes it when the session ends. Errors:
    /// invalid_argument for a null, closed or foreign-thread device.
    tl::expected<void, qwire::error> openDevice(QIODevice* device);

    // Commands.
    /// Queues a command and returns its reply handle; it is written at once when the session is
    /// ready, else after negotiation. `arguments` may be empty (nothing is sent). Errors, with
    /// nothing changed:
    ///   invalid_state     no active session (connect first), or the session is ending, or an
    ///                     OOB command before ready();
    ///   not_supported     exec_options::fds (see the file comment), or OOB not enabled;
    ///   invalid_argument, queue_full, backlog_full: as qmp::client::execute.
    /// exec_options::now is filled in when empty.
    tl::expected<QmpReply*, qwire::error> execute(const QString& command, const QJsonObject& arguments = {},
                                                  qmp::exec_options options = {});
    /// The same with the arguments as nlohmann::json (an object, or null for none).
    tl::expected<QmpReply*, qwire::error> execute(const QString& command, const nlohmann::json& arguments,
                                                  qmp::exec_options options = {});
    /// Gives up on a request (see QmpReply::cancel).
    tl::expected<void, qwire::error> cancel(qwire::request_id id);
    /// Ends the session: the transport closes at once; from the event loop, pending replies fail
    /// with cancelled, then disconnected(closed). invalid_state when no session is active or it
    /// is already ending.
    tl::expected<void, qwire::error> close();

Q_SIGNALS:
    /// Negotiation is done (client().oob_enabled() says whether OOB is on).
    void ready();
    /// A QEMU event. `data` is empty when QEMU sent none; `timestamp` is UTC with millisecond
    /// precision, invalid when QEMU's clock failed (it sent -1).
    void eventReceived(const QString& name, const QJsonObject& data, const QDateTime& timestamp);
    /// The peer broke the protocol in a way the session survives (e.g. unknown_reply_id).
    void protocolViolation(const qwire::error& error);
    /// The session is over: emitted once per session, last. `reason` names the root cause:
    /// closed, peer_closed, connection_lost (cause(): the socket error), handshake_timed_out,
    /// or the fatal protocol violation.
    void disconnected(const qwire::error& reason);

private:
    friend class QmpReply;
    enum class Phase : std::uint8_t { Idle, Connecting, Connected, Ending };

    void startSession(QIODevice* device, bool transportUp);
    void startConnecting(std::function<void()> connectSocket);
    void watchSocketSignals(QIODevice* device);
    void onTransportUp();
    void onReadable();
    void onEndOfInput();
    void onSocketError(int code);
    void onTimeout();
    void readAll();
    bool flush();
    void pump();
    bool deliver();
    bool deliverQueued();
    void scheduleDelivery();
    void armTimer();
    void dropDevice();
    void settle(qwire::request_id id, const qmp::client_event& outcome);
    void emitEvent(const qmp::event& e);

    ConnectionOptions options_;
    qmp::client client_;
    QPointer<QIODevice> device_;
    QTimer* timer_;
    Phase phase_ = Phase::Idle;
    std::optional<qwire::time_point> connectDeadline_;
    std::optional<qwire::time_point> armedFor_;
    std::unordered_map<std::uint64_t, QmpReply*> replies_;
    QString transportError_;
    int callDepth_ = 0;  // inside a public call: signals wait for the event loop
    bool delivering_ = false;
    bool flushing_ = false;
    bool deliveryScheduled_ = false;
};

}  // namespace qwire::qt
