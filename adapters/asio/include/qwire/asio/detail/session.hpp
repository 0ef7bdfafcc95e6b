// Internal to qwire::asio::qmp_connection (not a public API): the state of one connection,
// shared by the handle and every internal handler in flight. See qmp_connection.hpp for what
// the operations promise; this is how they keep it, all of it on the connection's strand.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/execution_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include "qwire/asio/connection_options.hpp"
#include "qwire/asio/detail/operation.hpp"
#include "qwire/asio/event_filter.hpp"
#include "qwire/epoll/socket.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::asio::detail {

/// Looks like asio::ssl::stream (a client handshake type and a next layer).
template <class Stream>
concept tls_like = requires { Stream::client; typename Stream::next_layer_type; };

template <class Stream>
using protocol_of = typename Stream::lowest_layer_type::protocol_type;

template <class Stream>
inline constexpr bool is_local = std::is_same_v<protocol_of<Stream>, ::asio::local::stream_protocol>;

using result_op = operation<std::error_code, nlohmann::json>;
using event_op = operation<std::error_code, qmp::event>;
using done_op = operation<std::error_code>;

/// The state of one connection, shared by the handle and every internal handler in flight.
/// Everything below "on the strand" runs only there.
template <class Stream>
class session final : public std::enable_shared_from_this<session<Stream>> {
    static_assert(!tls_like<Stream> || stream_traits<Stream>::is_tls,
                  "include qwire/asio/tls.hpp to use an asio::ssl::stream");

public:
    using strand_type = ::asio::strand<::asio::any_io_executor>;
    using endpoint_type = typename Stream::lowest_layer_type::endpoint_type;

    template <class... StreamArgs>
    session(const ::asio::any_io_executor& ex, connection_options options, StreamArgs&&... args)
        : strand_(::asio::make_strand(ex)),
          stream_(strand_, std::forward<StreamArgs>(args)...),
          timer_(strand_),
          options_(std::move(options)),
          client_(options_.client),
          read_buffer_(std::make_unique<char[]>(read_chunk)) {}

    // Any thread.
    [[nodiscard]] const strand_type& strand() const noexcept { return strand_; }
    [[nodiscard]] bool is_ready() const noexcept { return ready_.load(std::memory_order_acquire); }
    [[nodiscard]] bool is_finished() const noexcept { return finished_.load(std::memory_order_acquire); }

    // On the strand (see the file comment).
    [[nodiscard]] Stream& stream() noexcept { return stream_; }
    [[nodiscard]] const qmp::client& client() const noexcept { return client_; }
    [[nodiscard]] const std::optional<error>& disconnect_reason() const noexcept { return reason_; }
    [[nodiscard]] std::uint64_t events_dropped() const noexcept { return client_.events_dropped() + dropped_; }

    // Initiation, in the caller's thread: make the operation (hooking its cancellation slot up
    // there), then hop to the strand.
    template <class Handler>
    void initiate_connect(Handler&& handler, std::optional<endpoint_type> where) {
        on_strand([op = make<std::error_code>(std::forward<Handler>(handler)),
                   where = std::move(where)](session& s) mutable { s.start_connect(std::move(op), where); });
    }

    template <class Handler>
    void initiate_execute(Handler&& handler, std::string command, nlohmann::json arguments,
                          qmp::exec_options options) {
        on_strand([op = make<std::error_code, nlohmann::json>(std::forward<Handler>(handler)),
                   command = std::move(command), arguments = std::move(arguments),
                   options = std::move(options)](session& s) mutable {
            s.start_execute(std::move(op), command, std::move(arguments), std::move(options));
        });
    }

    template <class Handler>
    void initiate_wait(Handler&& handler, event_filter filter) {
        on_strand([op = make<std::error_code, qmp::event>(std::forward<Handler>(handler)),
                   filter = std::move(filter)](session& s) mutable { s.start_wait(std::move(op), std::move(filter)); });
    }

    template <class Handler>
    void initiate_close(Handler&& handler) {
        auto op = detail::make_operation<std::error_code>(std::forward<Handler>(handler), strand_, 0,
                                                          [](::asio::cancellation_type) {});
        on_strand([op = std::move(op)](session& s) mutable { s.start_close(std::move(op)); });
    }

    /// Posted, never run inline: a handler may replace itself while it runs.
    void set_event_handler(std::function<void(const qmp::event&)> handler) {
        ::asio::post(strand_, [self = this->shared_from_this(), h = std::move(handler)]() mutable {
            self->event_handler_ = std::move(h);
        });
    }

    void set_disconnect_handler(std::function<void(const error&)> handler) {
        ::asio::post(strand_, [self = this->shared_from_this(), h = std::move(handler)]() mutable {
            self->disconnect_handler_ = std::move(h);
        });
    }

    /// The handle is gone (on the strand): every pending operation completes with
    /// operation_aborted, then the session ends and the stream is closed.
    void abandon() {
        event_handler_ = nullptr;
        disconnect_handler_ = nullptr;
        fail_all(::asio::error::operation_aborted, ::asio::error::operation_aborted, ::asio::error::operation_aborted);
        for (auto& op : std::exchange(close_ops_, {})) op->complete(::asio::error::operation_aborted);
        if (phase_ != phase::finished) {
            (void)client_.close();
            pump();
        }
    }

private:
    enum class phase : std::uint8_t { idle, connecting, open, finished };

    static constexpr std::size_t read_chunk = 64 * 1024;
    static constexpr std::size_t max_write = 256 * 1024;

    struct waiter {
        event_filter filter;
        std::unique_ptr<event_op> op;
    };

    template <class F>
    void on_strand(F&& f) {
        ::asio::dispatch(strand_, [self = this->shared_from_this(), f = std::forward<F>(f)]() mutable { f(*self); });
    }

    template <class... Args, class Handler>
    std::unique_ptr<operation<Args...>> make(Handler&& handler) {
        const std::uint64_t key = next_key_.fetch_add(1, std::memory_order_relaxed);
        return detail::make_operation<Args...>(
            std::forward<Handler>(handler), strand_, key,
            [weak = this->weak_from_this(), key](::asio::cancellation_type type) {
                constexpr auto honoured = ::asio::cancellation_type::terminal | ::asio::cancellation_type::partial;
                if ((type & honoured) == ::asio::cancellation_type::none) return;
                // Posted, so that it runs after the operation's own start, which is already
                // dispatched to the strand.
                if (auto self = weak.lock()) ::asio::post(self->strand_, [self, key] { self->cancel(key); });
            });
    }

    // ---- On the strand. ----

    void start_connect(std::unique_ptr<done_op> op, const std::optional<endpoint_type>& where) {
        if (phase_ != phase::idle) return op->complete(errc::invalid_state);
        connect_op_ = std::move(op);
        phase_ = phase::connecting;
        qmp::client_options o = options_.client;
        o.handshake_deadline = clock::now() + options_.handshake_timeout;
        client_ = qmp::client(std::move(o));
        if (where) {
            stream_.lowest_layer().async_connect(
                *where, [self = this->shared_from_this()](const std::error_code& ec) { self->on_connected(ec); });
        } else {
            on_connected({});
        }
        pump();  // arms the handshake deadline
    }

    void on_connected(const std::error_code& ec) {
        if (phase_ != phase::connecting) return;  // ended meanwhile: timeout, close, cancel, handle gone
        if (ec) return fail(ec);
        std::error_code ignored;
        if constexpr (std::is_same_v<protocol_of<Stream>, ::asio::ip::tcp>) {
            stream_.lowest_layer().set_option(::asio::ip::tcp::no_delay(true), ignored);
        }
        if constexpr (is_local<Stream>) stream_.lowest_layer().native_non_blocking(true, ignored);  // for sendmsg
        if constexpr (stream_traits<Stream>::is_tls) {
            stream_traits<Stream>::handshake(
                stream_, [self = this->shared_from_this()](const std::error_code& e) { self->on_secured(e); });
        } else {
            on_secured({});
        }
    }

    void on_secured(const std::error_code& ec) {
        if (phase_ != phase::connecting) return;
        if (ec) return fail(ec);
        phase_ = phase::open;
        start_read();
        pump();
    }

    void start_execute(std::unique_ptr<result_op> op, std::string_view command, nlohmann::json arguments,
                       qmp::exec_options options) {
        if (phase_ == phase::idle) return op->complete(errc::invalid_state, nullptr);
        if constexpr (!is_local<Stream>) {
            if (!options.fds.empty()) return op->complete(errc::not_supported, nullptr);
        }
        if (!options.now) options.now = clock::now();
        auto id = client_.execute(command, std::move(arguments), std::move(options));
        if (!id) return op->complete(id.error().error_code(), nullptr);
        if (op->cancellable()) cancel_keys_.emplace(op->key(), *id);
        executes_.emplace(id->value, std::move(op));
        pump();
    }

    void start_wait(std::unique_ptr<event_op> op, event_filter filter) {
        const auto kept = std::find_if(buffered_.begin(), buffered_.end(),
                                       [&](const qmp::event& e) { return filter.matches(e); });
        if (kept != buffered_.end()) {
            qmp::event e = std::move(*kept);
            buffered_.erase(kept);
            return op->complete({}, std::move(e));
        }
        if (phase_ == phase::finished) return op->complete(errc::invalid_state, qmp::event{});
        waiters_.push_back({std::move(filter), std::move(op)});
    }

    void start_close(std::unique_ptr<done_op> op) {
        if (phase_ == phase::finished) return op->complete({});
        close_ops_.push_back(std::move(op));
        (void)client_.close();
        pump();
    }

    void cancel(std::uint64_t key) {
        if (connect_op_ && connect_op_->key() == key) {
            std::exchange(connect_op_, nullptr)->complete(::asio::error::operation_aborted);
            (void)client_.close();
            return pump();
        }
        if (const auto k = cancel_keys_.find(key); k != cancel_keys_.end()) {
            const request_id id = k->second;
            cancel_keys_.erase(k);
            if (const auto e = executes_.find(id.value); e != executes_.end()) {
                auto op = std::move(e->second);
                executes_.erase(e);
                op->complete(::asio::error::operation_aborted, nullptr);
            }
            (void)client_.cancel(id);  // its request_failed finds no operation any more
            return pump();
        }
        const auto w = std::find_if(waiters_.begin(), waiters_.end(), [&](const waiter& x) { return x.op->key() == key; });
        if (w != waiters_.end()) {
            auto op = std::move(w->op);
            waiters_.erase(w);
            op->complete(::asio::error::operation_aborted, qmp::event{});
        }
    }

    void fail(const std::error_code& ec) {
        (void)client_.transport_failed(ec);
        pump();
    }

    void start_read() {
        stream_.async_read_some(::asio::buffer(read_buffer_.get(), read_chunk),
                                [self = this->shared_from_this()](const std::error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const std::error_code& ec, std::size_t n) {
        if (phase_ != phase::open) return;
        if (n > 0) (void)client_.receive(std::string_view(read_buffer_.get(), n));
        if (ec) {
            if (ec == ::asio::error::eof || clean_end(ec)) {
                (void)client_.receive_eof();
            } else {
                (void)client_.transport_failed(ec);
            }
        }
        pump();
        if (phase_ == phase::open) start_read();
    }

    static bool clean_end(const std::error_code& ec) {
        if constexpr (stream_traits<Stream>::is_tls) {
            return stream_traits<Stream>::is_clean_end(ec);
        } else {
            return false;
        }
    }

    /// Starts writing the client's output unless a write is in flight. True when it wrote
    /// synchronously (descriptors), so the client may have new events.
    bool flush() {
        if (phase_ != phase::open || writing_) return false;
        const output_view out = client_.pending_output();
        if (out.bytes.empty()) return false;
        if constexpr (is_local<Stream>) {
            if (!out.fds.empty()) return send_with_fds(out);
        }
        std::string_view bytes = out.bytes.substr(0, max_write);
        if constexpr (stream_traits<Stream>::is_tls) {
            // Every burst ends with a one-byte TLS record (see tls.hpp): all but the last byte
            // now, the last one on its own by the next write.
            if (bytes.size() > 1) bytes.remove_suffix(1);
        }
        // The client's buffer may move when it grows: write from a copy.
        write_buffer_.assign(bytes);
        writing_ = true;
        ::asio::async_write(stream_, ::asio::buffer(write_buffer_),
                            [self = this->shared_from_this()](const std::error_code& ec, std::size_t n) {
                                self->on_written(ec, n);
                            });
        return false;
    }

    bool send_with_fds(const output_view& out) {
        auto sent = qwire::epoll::send_with_fds(stream_.lowest_layer().native_handle(), out.bytes, out.fds);
        if (sent) {
            client_.consume_output(*sent);
            return true;
        }
        if (sent.error() == std::errc::resource_unavailable_try_again) {
            writing_ = true;
            stream_.lowest_layer().async_wait(::asio::socket_base::wait_write,
                                              [self = this->shared_from_this()](const std::error_code& ec) {
                                                  self->on_written(ec, 0);
                                              });
            return false;
        }
        (void)client_.transport_failed(sent.error());
        return true;
    }

    void on_written(const std::error_code& ec, std::size_t n) {
        writing_ = false;
        if (phase_ != phase::open) return;
        client_.consume_output(n);
        if (ec) (void)client_.transport_failed(ec);
        pump();
    }

    void arm_timer() {
        if (phase_ == phase::finished) return;
        const std::optional<time_point> deadline = client_.next_deadline();
        if (deadline == timer_at_) return;
        timer_at_ = deadline;
        const std::uint64_t generation = ++timer_generation_;
        if (!deadline) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(*deadline);  // a wait in progress ends with operation_aborted
        timer_.async_wait([self = this->shared_from_this(), generation](const std::error_code&) {
            self->on_timer(generation);
        });
    }

    void on_timer(std::uint64_t generation) {
        if (generation != timer_generation_ || phase_ == phase::finished) return;
        timer_at_.reset();
        (void)client_.handle_timeout(clock::now());
        pump();
    }

    /// Hands every event of the client to its operation, then writes and re-arms the timer.
    /// Re-entrant calls (from an event handler starting an operation) leave the work to the
    /// outer call.
    void pump() {
        if (pumping_) return;
        pumping_ = true;
        struct done {
            bool& flag;
            ~done() { flag = false; }
        } reset{pumping_};  // an event handler may throw (out of the io_context's run())
        do {
            while (auto event = client_.next_event()) handle(*event);
        } while (flush());
        arm_timer();
    }

    void handle(qmp::client_event& event) {
        if (auto* r = std::get_if<qmp::reply>(&event)) return finish_request(r->id, {}, std::move(r->value));
        if (auto* e = std::get_if<qmp::error_reply>(&event)) {
            return finish_request(e->id, errc::command_failed,
                                  nlohmann::json{{"class", std::move(e->error_class)}, {"desc", std::move(e->desc)}});
        }
        if (auto* n = std::get_if<qmp::no_reply>(&event)) return finish_request(n->id, {}, nullptr);
        if (auto* f = std::get_if<request_failed>(&event)) return finish_request(f->id, f->error.error_code(), nullptr);
        if (auto* e = std::get_if<qmp::event>(&event)) return deliver(std::move(*e));
        if (std::holds_alternative<qmp::ready>(event)) {
            ready_.store(true, std::memory_order_release);
            if (connect_op_) std::exchange(connect_op_, nullptr)->complete({});
            return;
        }
        if (auto* d = std::get_if<disconnect>(&event)) return finish(std::move(d->reason));
        // greeting and protocol_violation: the client keeps them (greeting(), violations()).
    }

    void finish_request(request_id id, std::error_code ec, nlohmann::json value) {
        const auto it = executes_.find(id.value);
        if (it == executes_.end()) return;  // cancelled through its slot: already completed
        auto op = std::move(it->second);
        executes_.erase(it);
        if (op->cancellable()) cancel_keys_.erase(op->key());
        op->complete(ec, std::move(value));
    }

    void deliver(qmp::event e) {
        if (event_handler_) event_handler_(e);
        for (auto w = waiters_.begin(); w != waiters_.end(); ++w) {
            if (!w->filter.matches(e)) continue;
            auto op = std::move(w->op);
            waiters_.erase(w);
            return op->complete({}, std::move(e));
        }
        if (buffered_.size() >= options_.max_buffered_events) {
            ++dropped_;
            if (buffered_.empty() || options_.client.on_event_overflow == overflow_policy::drop_newest) return;
            buffered_.pop_front();
        }
        buffered_.push_back(std::move(e));
    }

    /// The session is over: close the stream, complete what still waits.
    void finish(error reason) {
        phase_ = phase::finished;
        reason_ = std::move(reason);
        ready_.store(false, std::memory_order_release);
        finished_.store(true, std::memory_order_release);
        std::error_code ignored;
        stream_.lowest_layer().close(ignored);
        timer_.cancel();
        timer_at_.reset();
        const std::error_code lost = reason_->code() == errc::closed ? errc::cancelled : errc::connection_lost;
        fail_all(reason_->error_code(), lost, lost);
        for (auto& op : std::exchange(close_ops_, {})) op->complete({});
        if (disconnect_handler_) disconnect_handler_(*reason_);
    }

    void fail_all(std::error_code connect, std::error_code requests, std::error_code waits) {
        if (connect_op_) std::exchange(connect_op_, nullptr)->complete(connect);
        // None are left at a disconnect (the client failed them all); all of them when abandoned.
        for (auto& [id, op] : std::exchange(executes_, {})) op->complete(requests, nullptr);
        cancel_keys_.clear();
        for (auto& w : std::exchange(waiters_, {})) w.op->complete(waits, qmp::event{});
    }

    const strand_type strand_;
    Stream stream_;
    ::asio::steady_timer timer_;
    connection_options options_;
    qmp::client client_;
    phase phase_ = phase::idle;
    std::atomic<bool> ready_{false};
    std::atomic<bool> finished_{false};
    std::atomic<std::uint64_t> next_key_{1};
    std::unique_ptr<char[]> read_buffer_;
    std::string write_buffer_;
    bool writing_ = false;
    bool pumping_ = false;
    std::optional<time_point> timer_at_;
    std::uint64_t timer_generation_ = 0;

    std::unique_ptr<done_op> connect_op_;
    std::map<std::uint64_t, std::unique_ptr<result_op>> executes_;  // by request id, in request order
    std::unordered_map<std::uint64_t, request_id> cancel_keys_;     // operation key -> request, if cancellable
    std::list<waiter> waiters_;                                      // oldest first
    std::vector<std::unique_ptr<done_op>> close_ops_;
    std::deque<qmp::event> buffered_;
    std::uint64_t dropped_ = 0;
    std::function<void(const qmp::event&)> event_handler_;
    std::function<void(const error&)> disconnect_handler_;
    std::optional<error> reason_;
};

}  // namespace qwire::asio::detail
