/// \file
/// \brief A QMP session as Asio asynchronous operations.
///
/// qwire::asio::qmp_connection<Stream> owns one Asio stream and one qwire::qmp::client and moves
/// bytes between them; every protocol decision stays in the client. Its operations take any
/// completion token, so the same call works with a callback, asio::use_future, and
/// asio::use_awaitable in a C++20 coroutine:
///
///     qwire::asio::unix_qmp_connection qemu(co_await asio::this_coro::executor);
///     co_await qemu.async_connect(asio::local::stream_protocol::endpoint(path), asio::use_awaitable);
///     nlohmann::json status = co_await qemu.async_execute("query-status", asio::use_awaitable);
///     qwire::qmp::event stop = co_await qemu.async_wait_event("STOP", asio::use_awaitable);
///
/// (g++ 12 cannot compile a braced list inside a co_await expression, e.g. arguments written
/// as {{"fdname", "x"}}: build the nlohmann::json on a line of its own first.)
///
/// Stream is asio::local::stream_protocol::socket (unix_qmp_connection; file descriptors can
/// ride with commands, SCM_RIGHTS), asio::ip::tcp::socket (tcp_qmp_connection) or, with
/// qwire/asio/tls.hpp, asio::ssl::stream<asio::ip::tcp::socket> (tls_qmp_connection). It is
/// constructed on the connection's strand, from the arguments after the options (for TLS: the
/// asio::ssl::context).
///
/// Operations and how they complete (error codes are qwire::errc values, compare them with
/// `ec == qwire::errc::…`, except asio::error::operation_aborted):
///
/// ~~~{.txt}
///   async_connect(endpoint)  void(error_code)  connect, TLS handshake, QMP greeting and
///                            negotiation (OOB when offered and client.enable_oob). Success once
///                            the session is ready. Failure: the disconnect reason's code
///                            (connection_lost with the OS or TLS error as disconnect_reason()
///                            ->cause(), handshake_timed_out, peer_closed, a peer violation,
///                            closed); invalid_state when already started.
///   async_handshake()        the same on a stream the caller connected (e.g. accepted from a
///                            QEMU started with server=off).
///   async_execute(name, args, options)  void(error_code, json)  the `return` value. Errors:
///                            command_failed with QEMU's error object {"class","desc"} as the
///                            value; timed_out (exec_options deadline or timeout; the session
///                            goes on); connection_lost when the session ended first; cancelled
///                            after async_close(); the client's own refusals at once
///                            (invalid_argument, queue_full, backlog_full, not_supported — also
///                            for file descriptors on a non-local stream — and invalid_state
///                            before async_connect or after the end). The value is null on
///                            every error but command_failed. Commands may be issued while the
///                            handshake runs: the client holds them until `ready`.
///   async_wait_event(filter) void(error_code, qmp::event)  the oldest QEMU event the filter
///                            matches, from those received and not yet taken (kept up to
///                            max_buffered_events) or arriving later. Each event goes to at most
///                            one waiter: the oldest whose filter matches. Errors: connection_lost
///                            when the session ends first (cancelled after async_close());
///                            invalid_state if it has already ended and no kept event matches.
///   async_close()            void(error_code)  ends the session: pending commands complete with
///                            cancelled, waiters with cancelled, a pending async_connect with
///                            closed; the stream is closed (for TLS without a close_notify
///                            exchange). Succeeds also when the session was already over.
/// ~~~
///
/// Cancellation: every operation but async_close honours its handler's cancellation slot
/// (asio::bind_cancellation_slot, the || of asio::experimental::awaitable_operators, a
/// coroutine's cancellation) for terminal and partial cancellation. It completes with
/// asio::error::operation_aborted. A cancelled async_execute also cancels the client's request
/// (QEMU may still run it; its late reply is dropped) and the connection stays usable; a
/// cancelled async_connect ends the session.
///
/// Events are also offered to an event handler (set_event_handler), each one before any waiter
/// sees it, and the end of the session to a disconnect handler. Both run on the strand, inside
/// the connection's own processing: they must not block; they may start operations. What they
/// throw leaves through the io_context's run() (the event is then lost to waiters).
///
/// I/O: one read outstanding and one write chain (never two writes at once) per connection,
/// whatever the number of concurrent operations; one steady timer armed from the client's
/// next_deadline().
///
/// Threads. All work happens on one strand (get_executor()) over the executor given at
/// construction, which may be a multi-threaded io_context.
///   - async_*, set_*_handler, get_executor(), is_ready(), is_finished(): from any thread,
///     concurrently.
///   - client(), disconnect_reason(), events_dropped(): on the strand (in handlers without an
///     associated executor, which run there; in coroutines spawned on get_executor(); in the
///     event handlers), or when no thread runs the execution context. disconnect_reason() is
///     also safe in a completion handler of an operation that failed because the session ended.
///   - stream(): before the first operation (TLS verification, socket options), or on the strand.
///   - Destruction, move: not concurrently with other calls on the same object. Completion
///     handlers run on their associated executor (use_awaitable: the coroutine's), else on the
///     strand; never inside the initiating call.
///
/// Destroying the connection with operations pending completes each of them with
/// operation_aborted (later, on its executor) and closes the stream; the internal state lives
/// on until the last internal handler has run, so nothing touches freed memory. Destroy it
/// before its execution context. A moved-from connection may only be destroyed or assigned to.
/// Only std::bad_alloc escapes (and what asio itself throws when the system refuses a strand).
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "qwire/asio/connection_options.hpp"
#include "qwire/asio/detail/session.hpp"
#include "qwire/asio/event_filter.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::asio {

/// A QMP session as Asio asynchronous operations over one `Stream` (see the file comment
/// for the operations, their errors, cancellation and threading).
template <class Stream>
class qmp_connection {
    using session_type = detail::session<Stream>;

public:
    using stream_type = Stream;  ///< the transport
    using executor_type = ::asio::strand<::asio::any_io_executor>;  ///< the strand every handler runs on
    /// What async_connect() dials.
    using endpoint_type = typename Stream::lowest_layer_type::endpoint_type;

    /// A connection whose strand runs on `ex`; `stream_args` follow the strand into Stream's
    /// constructor (for TLS: the asio::ssl::context, which must outlive the connection).
    template <class... StreamArgs>
    explicit qmp_connection(const ::asio::any_io_executor& ex, connection_options options = {},
                            StreamArgs&&... stream_args)
        : session_(std::make_shared<session_type>(ex, std::move(options), std::forward<StreamArgs>(stream_args)...)) {}

    /// The same on an execution context's executor (e.g. an asio::io_context).
    template <class ExecutionContext, class... StreamArgs>
        requires std::is_convertible_v<ExecutionContext&, ::asio::execution_context&>
    explicit qmp_connection(ExecutionContext& context, connection_options options = {}, StreamArgs&&... stream_args)
        : qmp_connection(::asio::any_io_executor(context.get_executor()), std::move(options),
                         std::forward<StreamArgs>(stream_args)...) {}

    qmp_connection(const qmp_connection&) = delete;
    qmp_connection& operator=(const qmp_connection&) = delete;
    /// Moves the session; the moved-from connection may only be destroyed or assigned to.
    qmp_connection(qmp_connection&&) noexcept = default;
    /// Abandons this connection's own session (as the destructor does), then takes `other`'s.
    qmp_connection& operator=(qmp_connection&& other) noexcept {
        if (this != &other) {
            abandon();
            session_ = std::move(other.session_);
        }
        return *this;
    }
    /// Pending operations complete with operation_aborted; the stream closes (see the file comment).
    ~qmp_connection() { abandon(); }

    // Getters.
    /// The strand: post work there to use client() safely.
    [[nodiscard]] executor_type get_executor() const noexcept { return session_->strand(); }
    /// True from the `ready` event (async_connect's success) to the end of the session.
    [[nodiscard]] bool is_ready() const noexcept { return session_->is_ready(); }
    /// True once the session has ended (then every operation fails at once).
    [[nodiscard]] bool is_finished() const noexcept { return session_->is_finished(); }
    /// The stream, e.g. for TLS verification set-up before async_connect.
    [[nodiscard]] Stream& stream() noexcept { return session_->stream(); }
    /// The protocol client: greeting(), oob_enabled(), violations(), late_replies(), … (strand only).
    [[nodiscard]] const qmp::client& client() const noexcept { return session_->client(); }
    /// Why the session ended (the disconnect event's reason, cause() holding the transport's
    /// or TLS error); empty while it lasts.
    [[nodiscard]] const std::optional<error>& disconnect_reason() const noexcept { return session_->disconnect_reason(); }
    /// QEMU events dropped, by the client's limit or by max_buffered_events.
    [[nodiscard]] std::uint64_t events_dropped() const noexcept { return session_->events_dropped(); }

    // Operations (see the file comment for their completions and errors).
    /// Connects to `where`, then runs TLS (for TLS streams), the greeting and negotiation.
    /// Completes with void(std::error_code) once the session is ready, or with the disconnect
    /// reason's code; invalid_state when already started.
    template <::asio::completion_token_for<void(std::error_code)> Token>
    auto async_connect(const endpoint_type& where, Token&& token) {
        return ::asio::async_initiate<Token, void(std::error_code)>(
            [](auto handler, const std::shared_ptr<session_type>& s, const endpoint_type& at) {
                s->initiate_connect(std::move(handler), at);
            },
            token, session_, where);
    }

    /// The same on a stream the caller has already connected.
    template <::asio::completion_token_for<void(std::error_code)> Token>
    auto async_handshake(Token&& token) {
        return ::asio::async_initiate<Token, void(std::error_code)>(
            [](auto handler, const std::shared_ptr<session_type>& s) {
                s->initiate_connect(std::move(handler), std::nullopt);
            },
            token, session_);
    }

    /// Runs `command`; completes with void(std::error_code, nlohmann::json): the `return` value,
    /// or an error (command_failed with QEMU's error object as the value, timed_out,
    /// connection_lost, cancelled, or the client's refusals at once; see the file comment).
    template <::asio::completion_token_for<void(std::error_code, nlohmann::json)> Token>
    auto async_execute(std::string_view command, nlohmann::json arguments, qmp::exec_options options, Token&& token) {
        return ::asio::async_initiate<Token, void(std::error_code, nlohmann::json)>(
            [](auto handler, const std::shared_ptr<session_type>& s, std::string c, nlohmann::json a,
               qmp::exec_options o) { s->initiate_execute(std::move(handler), std::move(c), std::move(a), std::move(o)); },
            token, session_, std::string(command), std::move(arguments), std::move(options));
    }

    /// The same with default exec_options.
    template <::asio::completion_token_for<void(std::error_code, nlohmann::json)> Token>
    auto async_execute(std::string_view command, nlohmann::json arguments, Token&& token) {
        return async_execute(command, std::move(arguments), qmp::exec_options{}, std::forward<Token>(token));
    }

    /// The same with no arguments.
    template <::asio::completion_token_for<void(std::error_code, nlohmann::json)> Token>
    auto async_execute(std::string_view command, Token&& token) {
        return async_execute(command, nullptr, qmp::exec_options{}, std::forward<Token>(token));
    }

    /// The oldest QEMU event that `filter` matches, kept or arriving later; completes with
    /// void(std::error_code, qmp::event). connection_lost when the session ends first,
    /// invalid_state when it has already ended and no kept event matches.
    template <::asio::completion_token_for<void(std::error_code, qmp::event)> Token>
    auto async_wait_event(event_filter filter, Token&& token) {
        return ::asio::async_initiate<Token, void(std::error_code, qmp::event)>(
            [](auto handler, const std::shared_ptr<session_type>& s, event_filter f) {
                s->initiate_wait(std::move(handler), std::move(f));
            },
            token, session_, std::move(filter));
    }

    /// Ends the session: pending commands and waiters complete with cancelled; completes with
    /// void(std::error_code), successfully also when the session was already over.
    template <::asio::completion_token_for<void(std::error_code)> Token>
    auto async_close(Token&& token) {
        return ::asio::async_initiate<Token, void(std::error_code)>(
            [](auto handler, const std::shared_ptr<session_type>& s) { s->initiate_close(std::move(handler)); },
            token, session_);
    }

    /// Sees every QEMU event first, on the strand (an empty function removes it). Takes effect
    /// for events processed after the call reaches the strand: set it before async_connect to
    /// see them all.
    void set_event_handler(std::function<void(const qmp::event&)> handler) {
        session_->set_event_handler(std::move(handler));
    }
    /// Told the disconnect reason when the session ends, on the strand.
    void set_disconnect_handler(std::function<void(const error&)> handler) {
        session_->set_disconnect_handler(std::move(handler));
    }

private:
    void abandon() noexcept {
        if (!session_) return;
        auto s = std::move(session_);
        const auto strand = s->strand();
        ::asio::post(strand, [s = std::move(s)] { s->abandon(); });
    }

    std::shared_ptr<session_type> session_;
};

/// QMP over a Unix socket, e.g. QEMU's `-qmp unix:PATH,server=on,wait=off`.
using unix_qmp_connection = qmp_connection<::asio::local::stream_protocol::socket>;
/// QMP over TCP, e.g. QEMU's `-qmp tcp:HOST:PORT,server=on,wait=off`.
using tcp_qmp_connection = qmp_connection<::asio::ip::tcp::socket>;

}  // namespace qwire::asio
