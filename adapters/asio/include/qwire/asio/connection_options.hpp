/// \file
/// \brief The options of a qwire::asio::qmp_connection, and the stream traits TLS specialises.
#pragma once

#include <chrono>
#include <cstddef>

#include "qwire/qmp/client.hpp"
#include "qwire/time.hpp"

namespace qwire::asio {

/// Options of a qmp_connection, fixed at construction.
struct connection_options {
    /// The protocol client's options; handshake_deadline is replaced at each async_connect.
    qmp::client_options client;
    /// From the start of async_connect (or async_handshake) to `ready`: connecting, TLS,
    /// greeting and negotiation. Past it the session ends with handshake_timed_out.
    duration handshake_timeout = std::chrono::seconds(10);
    /// QEMU events kept for async_wait_event() when no waiter takes them at once; beyond it
    /// client.on_event_overflow picks the one dropped (counted in events_dropped()). 0: keep
    /// none (for applications that only use the event handler).
    std::size_t max_buffered_events = 1024;
};

/// What the connection does with a stream beyond reading and writing: nothing, unless
/// specialised (qwire/asio/tls.hpp does it for asio::ssl::stream: handshake, truncation).
template <class Stream>
struct stream_traits {
    static constexpr bool is_tls = false;  ///< no TLS handshake, no TLS truncation
};
}  // namespace qwire::asio
