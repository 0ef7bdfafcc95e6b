// qwire::qt::QmpReply — see the header for the contract. The connection finishes or fails each
// reply once; a reply destroyed first takes itself out of the connection's table.
#include <QtCore/QMetaMethod>

#include <utility>

#include "qwire/qt/json.hpp"
#include "qwire/qt/qmp_connection.hpp"

namespace qwire::qt {

QmpReply::QmpReply(QmpConnection* connection, request_id id, QString command)
    : QObject(connection), connection_(connection), id_(id), command_(std::move(command)) {}

QmpReply::~QmpReply() {
    if (connection_ != nullptr) connection_->replies_.erase(id_.value);
}

QJsonValue QmpReply::result() const {
    if (!done_ || error_ || !hasValue_) return QJsonValue(QJsonValue::Undefined);
    return toQJsonValue(value_);
}

tl::expected<void, qwire::error> QmpReply::cancel() {
    if (done_) return tl::unexpected(qwire::error(errc::unknown_request, "the command already has an outcome"));
    if (connection_ == nullptr) return tl::unexpected(qwire::error(errc::invalid_state, "the connection is gone"));
    return connection_->cancel(id_);
}

void QmpReply::succeed(nlohmann::json value, bool hasValue) {
    connection_ = nullptr;
    done_ = true;
    value_ = std::move(value);
    hasValue_ = hasValue;
    // Converting a large reply (the schema is 200 KB) is skipped when nobody listens.
    static const QMetaMethod signal = QMetaMethod::fromSignal(&QmpReply::finished);
    Q_EMIT finished(hasValue && isSignalConnected(signal) ? toQJsonValue(value_) : QJsonValue(QJsonValue::Undefined));
}

void QmpReply::fail(qwire::error e) {
    connection_ = nullptr;
    done_ = true;
    error_ = std::move(e);
    Q_EMIT failed(*error_);
}

}  // namespace qwire::qt
