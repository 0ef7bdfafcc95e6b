// qwire::qt::socketErrorCategory(): Qt's socket errors as std::error_code values, with their
// nearest std::errc condition where one exists.
#include <QtNetwork/QAbstractSocket>

#include <string>
#include <system_error>

#include "qwire/qt/qmp_connection.hpp"

namespace qwire::qt {
namespace {

class SocketErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "qt.socket"; }

    std::string message(int code) const override {
        switch (static_cast<QAbstractSocket::SocketError>(code)) {
            case QAbstractSocket::ConnectionRefusedError: return "connection refused";
            case QAbstractSocket::RemoteHostClosedError: return "the peer closed the connection";
            case QAbstractSocket::HostNotFoundError: return "host or server not found";
            case QAbstractSocket::SocketAccessError: return "permission denied";
            case QAbstractSocket::SocketResourceError: return "out of socket resources";
            case QAbstractSocket::SocketTimeoutError: return "socket operation timed out";
            case QAbstractSocket::DatagramTooLargeError: return "datagram too large";
            case QAbstractSocket::NetworkError: return "network error";
            case QAbstractSocket::AddressInUseError: return "address in use";
            case QAbstractSocket::SocketAddressNotAvailableError: return "address not available";
            case QAbstractSocket::UnsupportedSocketOperationError: return "unsupported socket operation";
            case QAbstractSocket::UnfinishedSocketOperationError: return "socket operation in progress";
            case QAbstractSocket::SslHandshakeFailedError: return "TLS handshake failed";
            case QAbstractSocket::SslInternalError: return "TLS library error";
            case QAbstractSocket::SslInvalidUserDataError: return "invalid TLS data";
            case QAbstractSocket::OperationError: return "operation not allowed in this socket state";
            case QAbstractSocket::TemporaryError: return "temporary error";
            default: return "socket error";
        }
    }

    std::error_condition default_error_condition(int code) const noexcept override {
        switch (static_cast<QAbstractSocket::SocketError>(code)) {
            case QAbstractSocket::ConnectionRefusedError: return std::errc::connection_refused;
            case QAbstractSocket::RemoteHostClosedError: return std::errc::connection_reset;
            case QAbstractSocket::SocketAccessError: return std::errc::permission_denied;
            case QAbstractSocket::SocketTimeoutError: return std::errc::timed_out;
            case QAbstractSocket::DatagramTooLargeError: return std::errc::message_size;
            case QAbstractSocket::AddressInUseError: return std::errc::address_in_use;
            case QAbstractSocket::SocketAddressNotAvailableError: return std::errc::address_not_available;
            case QAbstractSocket::UnsupportedSocketOperationError: return std::errc::operation_not_supported;
            case QAbstractSocket::UnfinishedSocketOperationError: return std::errc::operation_in_progress;
            default: return {code, *this};
        }
    }
};

}  // namespace

const std::error_category& socketErrorCategory() noexcept {
    static const SocketErrorCategory category;
    return category;
}

}  // namespace qwire::qt
