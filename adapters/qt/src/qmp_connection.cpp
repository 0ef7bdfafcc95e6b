// qwire::qt::QmpConnection — see the header for the contract.
//
// Theory of operation
// -------------------
// Every input (readyRead, end of input, a socket error, the timer, a public call) feeds the core
// and then pumps: flush() hands pending_output() to the device, deliver() turns the core's
// events into signals, armTimer() sets the one QTimer to next_deadline(). Inside a public call
// (callDepth_ > 0) deliver() only schedules itself on the event loop, so no signal is ever
// emitted from within a call into this class; since every signal comes out of the one
// next_event() queue, deferring delivery never reorders anything. deliver() does not nest: a
// slot that executes or closes adds events that the running loop hands out after the current
// one.
//
// Phases: Idle (no session) -> Connecting (transport coming up; commands are held by the core,
// which writes nothing before QEMU's greeting) -> Connected -> Idle when the disconnect event
// is delivered. close() moves to Ending and drops the transport at once; the core's own end
// (EOF, error, violation) keeps Connected until the disconnect is delivered, and the transport
// is dropped then. The device is dropped by disconnecting its signals first, so its own close
// notifications never come back in.
//
// Output goes into Qt's write buffer only while that holds less than max_unwritten bytes; the
// rest stays in the core, whose max_output_bytes limit then means what it says.
#include "qwire/qt/qmp_connection.hpp"

#include <QtCore/QTimer>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QTcpSocket>
#if QT_CONFIG(ssl)
#include <QtNetwork/QSslSocket>
#endif

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <variant>

#include "qwire/qt/json.hpp"

namespace qwire::qt {
namespace {

using namespace std::chrono_literals;

constexpr qint64 read_chunk = 64 * 1024;
constexpr qint64 max_unwritten = 256 * 1024;

// Marks a public call in progress: signals wait for the event loop meanwhile.
class CallGuard {
public:
    explicit CallGuard(int& depth) : depth_(depth) { ++depth_; }
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;
    ~CallGuard() { --depth_; }

private:
    int& depth_;
};

tl::unexpected<qwire::error> refuse(errc code, std::string detail) { return tl::unexpected(qwire::error(code, std::move(detail))); }

QDateTime toDateTime(const qmp::timestamp& t) {
    if (t.seconds < 0 || t.microseconds < 0) return {};
    return QDateTime::fromMSecsSinceEpoch(t.seconds * 1000 + t.microseconds / 1000, Qt::UTC);
}

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

// ---- QmpConnection: setting up -------------------------------------------------------------

QmpConnection::QmpConnection(QObject* parent) : QmpConnection(ConnectionOptions{}, parent) {}

QmpConnection::QmpConnection(ConnectionOptions options, QObject* parent)
    : QObject(parent), options_(std::move(options)), client_(options_.client), timer_(new QTimer(this)) {
    timer_->setSingleShot(true);
    timer_->setTimerType(Qt::PreciseTimer);
    connect(timer_, &QTimer::timeout, this, &QmpConnection::onTimeout);
}

QmpConnection::~QmpConnection() {
    for (auto& [value, reply] : replies_) reply->connection_ = nullptr;
    replies_.clear();
    dropDevice();
    // Deleted by a slot during delivery, a device (current, or dropped and not yet deleted) may
    // be inside a signal of its own: it must outlive this, so it goes with the event loop
    // (which is running: delivery only happens from it) rather than with our children.
    if (delivering_) {
        for (auto* device : findChildren<QIODevice*>(Qt::FindDirectChildrenOnly)) {
            device->setParent(nullptr);
            device->deleteLater();
        }
    }
}

void QmpConnection::startSession(QIODevice* device, bool transportUp) {
    qmp::client_options o = options_.client;
    const time_point now = clock::now();
    o.handshake_deadline = now + options_.handshakeTimeout;
    client_ = qmp::client(std::move(o));
    transportError_.clear();
    if (device->parent() != this) device->setParent(this);
    device_ = device;
    phase_ = transportUp ? Phase::Connected : Phase::Connecting;
    if (transportUp) {
        connectDeadline_.reset();
    } else {
        connectDeadline_ = now + options_.connectTimeout;
    }
    connect(device, &QIODevice::readyRead, this, &QmpConnection::onReadable);
    connect(device, &QIODevice::bytesWritten, this, [this] {
        if (!flushing_) pump();
    });
    connect(device, &QIODevice::readChannelFinished, this, &QmpConnection::onEndOfInput);
    connect(device, &QIODevice::aboutToClose, this, &QmpConnection::onEndOfInput);
    if (auto* s = qobject_cast<QAbstractSocket*>(device)) {
        connect(s, &QAbstractSocket::errorOccurred, this, [this](QAbstractSocket::SocketError e) { onSocketError(e); });
        connect(s, &QAbstractSocket::disconnected, this, &QmpConnection::onEndOfInput);
    } else if (auto* l = qobject_cast<QLocalSocket*>(device)) {
        connect(l, &QLocalSocket::errorOccurred, this, [this](QLocalSocket::LocalSocketError e) { onSocketError(e); });
        connect(l, &QLocalSocket::disconnected, this, &QmpConnection::onEndOfInput);
    }
}

// The socket starts connecting from the event loop: QLocalSocket reports success or failure
// before connectToServer() returns, and commands executed right after connectTo*() should be
// held (and fail, if they must) the same way whatever the transport.
void QmpConnection::startConnecting(std::function<void()> connectSocket) {
    QIODevice* socket = device_;
    QMetaObject::invokeMethod(
        this,
        [this, socket, connectSocket = std::move(connectSocket)] {
            if (device_ != socket) return;  // closed meanwhile
            connectSocket();
            pump();
        },
        Qt::QueuedConnection);
    pump();
}

tl::expected<void, qwire::error> QmpConnection::connectToServer(const QString& path) {
    CallGuard guard(callDepth_);
    if (phase_ != Phase::Idle) return refuse(errc::invalid_state, "a session is active");
    auto* socket = new QLocalSocket(this);
    connect(socket, &QLocalSocket::connected, this, &QmpConnection::onTransportUp);
    startSession(socket, false);
    startConnecting([socket, path] { socket->connectToServer(path); });
    return {};
}

tl::expected<void, qwire::error> QmpConnection::connectToHost(const QString& host, quint16 port) {
    CallGuard guard(callDepth_);
    if (phase_ != Phase::Idle) return refuse(errc::invalid_state, "a session is active");
    auto* socket = new QTcpSocket(this);
    connect(socket, &QTcpSocket::connected, this, [this, socket] {
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        onTransportUp();
    });
    startSession(socket, false);
    startConnecting([socket, host, port] { socket->connectToHost(host, port); });
    return {};
}

#if QT_CONFIG(ssl)
tl::expected<void, qwire::error> QmpConnection::connectToHostEncrypted(const QString& host, quint16 port,
                                                               const QSslConfiguration& configuration) {
    CallGuard guard(callDepth_);
    if (phase_ != Phase::Idle) return refuse(errc::invalid_state, "a session is active");
    if (!QSslSocket::supportsSsl()) return refuse(errc::not_supported, "Qt has no TLS backend");
    auto* socket = new QSslSocket(this);
    socket->setSslConfiguration(configuration);
    connect(socket, &QSslSocket::connected, this,
            [socket] { socket->setSocketOption(QAbstractSocket::LowDelayOption, 1); });
    connect(socket, &QSslSocket::encrypted, this, &QmpConnection::onTransportUp);
    startSession(socket, false);
    startConnecting([socket, host, port] { socket->connectToHostEncrypted(host, port); });
    return {};
}
#endif

tl::expected<void, qwire::error> QmpConnection::openDevice(QIODevice* device) {
    CallGuard guard(callDepth_);
    if (phase_ != Phase::Idle) return refuse(errc::invalid_state, "a session is active");
    if (device == nullptr || !device->isOpen()) return refuse(errc::invalid_argument, "the device is not open");
    if (device->thread() != thread()) return refuse(errc::invalid_argument, "the device lives in another thread");
    bool up = true;
#if QT_CONFIG(ssl)
    if (auto* ssl = qobject_cast<QSslSocket*>(device); ssl && ssl->mode() != QSslSocket::UnencryptedMode) {
        up = ssl->isEncrypted();
        if (!up) connect(ssl, &QSslSocket::encrypted, this, &QmpConnection::onTransportUp);
    } else
#endif
        if (auto* s = qobject_cast<QAbstractSocket*>(device)) {
        up = s->state() == QAbstractSocket::ConnectedState;
        if (!up) connect(s, &QAbstractSocket::connected, this, &QmpConnection::onTransportUp);
    } else if (auto* l = qobject_cast<QLocalSocket*>(device)) {
        up = l->state() == QLocalSocket::ConnectedState;
        if (!up) connect(l, &QLocalSocket::connected, this, &QmpConnection::onTransportUp);
    }
    startSession(device, up);
    // Bytes that arrived before we listened raise no readyRead of their own.
    QMetaObject::invokeMethod(this, &QmpConnection::onReadable, Qt::QueuedConnection);
    pump();
    return {};
}

// ---- Commands ------------------------------------------------------------------------------

tl::expected<QmpReply*, qwire::error> QmpConnection::execute(const QString& command, const QJsonObject& arguments,
                                                      qmp::exec_options options) {
    return execute(command, toJson(arguments), std::move(options));
}

tl::expected<QmpReply*, qwire::error> QmpConnection::execute(const QString& command, const nlohmann::json& arguments,
                                                      qmp::exec_options options) {
    CallGuard guard(callDepth_);
    if (phase_ == Phase::Idle) return refuse(errc::invalid_state, "no session: connect first");
    if (!options.fds.empty()) {
        return refuse(errc::not_supported, "the Qt adapter cannot pass file descriptors (no SCM_RIGHTS)");
    }
    if (!options.now) options.now = clock::now();
    auto id = client_.execute(command.toStdString(), arguments, std::move(options));
    if (!id) return tl::unexpected(std::move(id.error()));
    auto* reply = new QmpReply(this, *id, command);
    replies_.emplace(id->value, reply);
    pump();
    return reply;
}

tl::expected<void, qwire::error> QmpConnection::cancel(request_id id) {
    CallGuard guard(callDepth_);
    if (phase_ == Phase::Idle) return refuse(errc::invalid_state, "no session");
    auto cancelled = client_.cancel(id);
    pump();
    return cancelled;
}

tl::expected<void, qwire::error> QmpConnection::close() {
    CallGuard guard(callDepth_);
    if (phase_ == Phase::Idle) return refuse(errc::invalid_state, "no session");
    if (auto closed = client_.close(); !closed) return closed;
    phase_ = Phase::Ending;
    connectDeadline_.reset();
    dropDevice();
    pump();
    return {};
}

// ---- Inputs --------------------------------------------------------------------------------

void QmpConnection::onTransportUp() {
    if (phase_ != Phase::Connecting) return;
    phase_ = Phase::Connected;
    connectDeadline_.reset();
    onReadable();  // a TLS socket may hold plaintext already
}

void QmpConnection::onReadable() {
    if (!device_) return;
    readAll();
    pump();
}

void QmpConnection::onEndOfInput() {
    if (!device_) return;
    readAll();  // what arrived before the end is delivered first
    if (client_.is_open()) (void)client_.receive_eof();
    pump();
}

void QmpConnection::onSocketError(int code) {
    if (!device_) return;
    if (code == QAbstractSocket::RemoteHostClosedError) return onEndOfInput();
    transportError_ = device_->errorString();
    readAll();
    if (client_.is_open()) (void)client_.transport_failed(std::error_code(code, socketErrorCategory()));
    pump();
}

void QmpConnection::onTimeout() {
    armedFor_.reset();
    const time_point now = clock::now();
    if (connectDeadline_ && now >= *connectDeadline_) {
        connectDeadline_.reset();
        transportError_ = QStringLiteral("connecting timed out");
        (void)client_.transport_failed(std::make_error_code(std::errc::timed_out));
    }
    (void)client_.handle_timeout(now);
    pump();
}

void QmpConnection::readAll() {
    if (!device_ || !device_->isOpen()) return;
    std::array<char, read_chunk> buffer;
    while (device_ && client_.is_open()) {
        const qint64 n = device_->read(buffer.data(), read_chunk);
        if (n <= 0) return;  // errors and the end come as signals
        (void)client_.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    }
}

// ---- Outputs -------------------------------------------------------------------------------

void QmpConnection::pump() {
    flush();
    if (deliver()) armTimer();  // else a slot deleted the connection: touch nothing
}

// Writes what the device's buffer takes; true when that changed the core (output consumed, or
// the transport failed), so that events may be waiting. Nothing it calls may reenter it or run
// a slot: the device may emit bytesWritten or errorOccurred from inside write() and flush().
bool QmpConnection::flush() {
    if (phase_ != Phase::Connected || !device_ || flushing_) return false;
    CallGuard guard(callDepth_);
    flushing_ = true;
    bool progressed = false;
    for (auto out = client_.pending_output(); device_ && !out.bytes.empty(); out = client_.pending_output()) {
        const qint64 room = max_unwritten - device_->bytesToWrite();
        if (room <= 0) break;  // bytesWritten brings us back
        const qint64 n = device_->write(out.bytes.data(), std::min(room, static_cast<qint64>(out.bytes.size())));
        if (n < 0) {
            transportError_ = device_->errorString();
            (void)client_.transport_failed(std::make_error_code(std::errc::io_error));
            progressed = true;
            break;
        }
        if (n == 0) break;
        client_.consume_output(static_cast<std::size_t>(n));
        progressed = true;
    }
    // Hand the bytes to the kernel now rather than on the next turn of the event loop. flush()
    // is not virtual: QSslSocket's own one encrypts and sends.
    if (progressed && device_) {
#if QT_CONFIG(ssl)
        if (auto* ssl = qobject_cast<QSslSocket*>(device_)) {
            ssl->flush();
        } else
#endif
            if (auto* s = qobject_cast<QAbstractSocket*>(device_)) {
            s->flush();
        } else if (auto* l = qobject_cast<QLocalSocket*>(device_)) {
            l->flush();
        }
    }
    flushing_ = false;
    return progressed;
}

void QmpConnection::scheduleDelivery() {
    if (deliveryScheduled_) return;
    deliveryScheduled_ = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            deliveryScheduled_ = false;
            (void)deliver();
        },
        Qt::QueuedConnection);
}

bool QmpConnection::deliver() {
    if (delivering_) return true;  // a slot called us: the running loop hands the events out
    if (callDepth_ > 0) {
        scheduleDelivery();
        return true;
    }
    delivering_ = true;
    do {
        if (!deliverQueued()) return false;  // a slot deleted the connection
    } while (flush());  // slots may have executed; written output may complete requests
    delivering_ = false;
    armTimer();
    return true;
}

bool QmpConnection::deliverQueued() {
    const QPointer<QmpConnection> alive(this);
    while (auto next = client_.next_event()) {
        std::visit(overloaded{
                       [](const qmp::greeting&) {},
                       [this](const qmp::ready&) { Q_EMIT ready(); },
                       [this](const qmp::event& e) { emitEvent(e); },
                       [this](const protocol_violation& v) { Q_EMIT protocolViolation(v.error); },
                       [this](const qwire::disconnect& d) {
                           phase_ = Phase::Idle;
                           connectDeadline_.reset();
                           dropDevice();
                           Q_EMIT disconnected(d.reason);
                       },
                       [this, &next](const auto& outcome) { settle(outcome.id, *next); },
                   },
                   *next);
        if (!alive) return false;
    }
    return true;
}

void QmpConnection::settle(request_id id, const qmp::client_event& outcome) {
    const auto found = replies_.find(id.value);
    if (found == replies_.end()) return;  // the reply was deleted
    QmpReply* reply = found->second;
    replies_.erase(found);
    // Before the signal: a slot may delete the reply, or the connection and with it the reply.
    if (options_.autoDeleteReplies) reply->deleteLater();
    if (const auto* r = std::get_if<qmp::reply>(&outcome)) return reply->succeed(r->value, true);
    if (std::holds_alternative<qmp::no_reply>(outcome)) return reply->succeed(nullptr, false);
    if (const auto* e = std::get_if<qmp::error_reply>(&outcome)) {
        return reply->fail(qwire::error::from_reply(e->error_class, e->desc));
    }
    reply->fail(std::get<request_failed>(outcome).error);
}

void QmpConnection::emitEvent(const qmp::event& e) {
    Q_EMIT eventReceived(QString::fromStdString(e.name), toQJsonObject(e.data), toDateTime(e.timestamp));
}

void QmpConnection::armTimer() {
    std::optional<time_point> due = client_.next_deadline();
    if (connectDeadline_ && (!due || *connectDeadline_ < *due)) due = connectDeadline_;
    if (due == armedFor_) return;
    armedFor_ = due;
    if (!due) return timer_->stop();
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - clock::now());
    timer_->start(std::max(wait, 0ms));
}

void QmpConnection::dropDevice() {
    if (!device_) return;
    QIODevice* device = device_;
    device_ = nullptr;
    device->disconnect(this);  // its close notifications must not come back in
    if (auto* s = qobject_cast<QAbstractSocket*>(device)) {
        s->abort();
    } else if (auto* l = qobject_cast<QLocalSocket*>(device)) {
        l->abort();
    } else {
        device->close();
    }
    device->deleteLater();
}

}  // namespace qwire::qt
