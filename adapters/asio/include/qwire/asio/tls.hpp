/// \file
/// \brief QMP over TLS: qmp_connection on asio::ssl::stream (needs OpenSSL).
///
/// async_connect() connects the TCP socket, runs the TLS client handshake, then the QMP
/// handshake. The asio::ssl::context passed to the constructor decides what is trusted and
/// which client certificate is shown (QEMU's tls-creds-x509 with verify-peer=on wants one);
/// set the peer verification on it, or on stream() before async_connect, e.g.:
///
///     asio::ssl::context tls(asio::ssl::context::tls_client);
///     tls.load_verify_file(dir + "/ca-cert.pem");
///     tls.use_certificate_chain_file(dir + "/client-cert.pem");
///     tls.use_private_key_file(dir + "/client-key.pem", asio::ssl::context::pem);
///     tls.set_verify_mode(asio::ssl::verify_peer);
///     qwire::asio::tls_qmp_connection qemu(io, {}, tls);
///     qemu.stream().set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
///
/// A failed handshake (untrusted certificate, no client certificate, …) ends the session:
/// async_connect completes with connection_lost and disconnect_reason()->cause() holds the TLS
/// error (category asio::error::get_ssl_category(); e.g. "certificate verify failed"). A peer
/// that closes the TCP connection without a TLS close_notify (QEMU does, on quit) counts as an
/// end of input, not as a transport failure: QMP's framing already tells a cut message.
///
/// QEMU (7.2 at least) reads a monitor one byte per read, and only when its socket is readable:
/// once it has decrypted a record, the rest of that record's plaintext waits inside GnuTLS until
/// another record arrives, so the last command written would never be read. The connection
/// therefore ends every burst of writes with a TLS record holding one byte: QEMU takes a one-byte
/// record whole, and reads the records before it while the socket stays readable.
#pragma once

#include <system_error>
#include <utility>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>

#include "qwire/asio/qmp_connection.hpp"

namespace qwire::asio {

/// TLS streams: a client handshake after connecting, and a truncated stream read as an end
/// of input.
template <class NextLayer>
struct stream_traits<::asio::ssl::stream<NextLayer>> {
    static constexpr bool is_tls = true;  ///< async_connect() runs the TLS handshake

    /// Starts the TLS client handshake; `handler` gets its std::error_code.
    template <class Handler>
    static void handshake(::asio::ssl::stream<NextLayer>& stream, Handler&& handler) {
        stream.async_handshake(::asio::ssl::stream_base::client, std::forward<Handler>(handler));
    }

    /// The TCP connection ended without close_notify: an end of input for the QMP client.
    static bool is_clean_end(const std::error_code& ec) { return ec == ::asio::ssl::error::stream_truncated; }
};

/// QMP over TLS on TCP; construct it with the asio::ssl::context after the options.
using tls_qmp_connection = qmp_connection<::asio::ssl::stream<::asio::ip::tcp::socket>>;

}  // namespace qwire::asio
