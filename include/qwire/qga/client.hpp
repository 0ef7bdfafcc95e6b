/// \file
/// \brief A guest agent (qemu-ga) client as a pure state machine.
///
/// qwire::qga::client speaks QGA, the dialect of QMP that qemu-ga speaks inside a guest, without
/// doing any I/O: the adapter feeds it the bytes it reads (receive), tells it about EOF, transport
/// failures and time; it hands back the bytes to write (pending_output / consume_output), one
/// deadline (next_deadline) and events (next_event). It never reads a clock, never blocks, never
/// draws a random number and never calls user code while being fed, except the optional observer.
///
/// There is no greeting and no negotiation, and the stream cannot be trusted as found: the agent
/// keeps its parser state and its unsent replies across connections (a previous client may have
/// left half a command or unread replies behind). So the client starts `unsynced` and trusts
/// nothing until sync() has completed:
///
/// ~~~{.txt}
///   unsynced --sync()--> syncing --the agent returns the token after its 0xFF--> ready
///   syncing --sync()--> syncing (a new token; the old sync fails with cancelled)
///   ready --sync()--> syncing
///   ready --a sent request times out or is cancelled--> unsynced (trust lost)
///   syncing --the sync times out or is cancelled--> unsynced
///   unsynced, syncing, ready --EOF, transport failure, close(), fatal input (ready only)--> closing
///   closing --the disconnect event is pulled--> closed
/// ~~~
///
/// Resynchronisation. sync(token) writes the byte 0xFF, then
/// `{"execute":"guest-sync-delimited","arguments":{"id":TOKEN}}`. The 0xFF makes the agent drop
/// whatever half command it holds (it answers with a parse error that has no id); the agent then
/// answers the sync with a 0xFF byte followed by `{"return":TOKEN}`. The client discards
/// everything until a 0xFF arrives, ignores every message after it that is not `{"return":TOKEN}`
/// (stale replies, replies to older syncs, further 0xFFs), and only then is ready. The token must
/// be fresh for each sync and hard to guess from earlier traffic: the caller supplies it (the core
/// has no randomness), e.g. from std::random_device. qemu-ga takes it as a signed 64-bit integer.
///
/// Trust. Once a request has been sent, the only way to stop waiting for it without its reply is
/// to stop trusting the stream: the reply may still come, late, and be taken for another's. So a
/// client-side timeout or cancel() of a sent request moves the client to `unsynced`: every other
/// sent request fails with cancelled at once, and nothing more is sent or matched until a new
/// sync() completes. A new sync() does the same to the requests already sent (their replies can
/// no longer be told from stale ones). Commands not yet sent are never affected: they are held.
///
/// Requests. execute() returns a request_id; exactly one outcome event follows for it: reply,
/// error_reply, no_reply (fire-and-forget), or request_failed (timed_out, cancelled,
/// connection_lost). sync() returns one too; its outcome is synced or request_failed. Commands
/// executed before ready are held and sent, in order, when a sync completes. How replies are
/// matched is client_options::matching: by_id (each command carries a small integer id that
/// qemu-ga echoes; commands are pipelined, qemu-ga runs them in order) or in_order (no ids, one
/// command in flight at a time, the next reply is its reply; for agents that do not echo ids).
///
/// Fire and forget. guest-shutdown and guest-suspend-* never reply on success. Execute them with
/// exec_options::expect_reply = false and a deadline: the outcome is no_reply when the deadline
/// passes with no reply, or the (error) reply if one comes first. In in_order mode such a command
/// holds the one slot until then, and an error reply later than the deadline would be taken for
/// the next command's: choose the deadline generously there. An EOF while it waits fails it with
/// connection_lost like any request; after guest-shutdown an EOF is usually what success looks
/// like.
///
/// Peer errors. Before ready, nothing the agent sends is an error: it is stale, discarded and
/// counted (discarded_messages()). Once ready, a reply with an unknown id is dropped and reported
/// (protocol_violation, unknown_reply_id); a well-formed event is delivered (qemu-ga sends none);
/// anything else that is not a valid reply (not JSON, not an object, invalid UTF-8, over a limit,
/// a QMP greeting, a 0xFF byte outside a sync, a reply without an id when not exactly one request
/// waits for it…) is fatal: events received before it are delivered, then every pending request
/// fails with connection_lost in request order, then one disconnect whose reason names the
/// violation. After the disconnect nothing more comes out and every call returns invalid_state.
///
/// Not thread-safe; distinct clients are independent; movable (a moved-from client may only be
/// destroyed or assigned to). Only std::bad_alloc escapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/qga/events.hpp"
#include "qwire/session.hpp"
#include "qwire/time.hpp"

namespace qwire::qga {

/// The states of a client; the file comment has the transitions and what each state accepts.
enum class client_state : std::uint8_t { unsynced, syncing, ready, closing, closed };

/// How replies find their request.
enum class match_mode : std::uint8_t {
    by_id,     ///< commands carry ids the agent echoes (qemu-ga does); many may be in flight
    in_order,  ///< commands carry no id; one is in flight at a time and the next reply is its
};

/// Limits, timeouts and hooks of a client, fixed at construction.
struct client_options {
    std::size_t max_frame_bytes = 10 * 1024 * 1024;  ///< largest message accepted
    std::size_t max_depth = 1024;                    ///< deepest JSON nesting accepted
    std::size_t max_undelivered_events = 10000;      ///< agent events waiting for next_event()
    overflow_policy on_event_overflow = overflow_policy::drop_oldest;  ///< what to drop when that limit is reached
    std::size_t max_queued_commands = 10000;          ///< commands not yet completed
    std::size_t max_output_bytes = 16 * 1024 * 1024;  ///< unwritten output accepted by execute()/sync()
    match_mode matching = match_mode::by_id;  ///< how replies find their request
    std::optional<duration> command_timeout;  ///< default for execute(); needs exec_options::now
    std::optional<duration> sync_timeout;     ///< default for sync(); needs sync_options::now
    /// Sees every message received (after framing, stale ones too) and sent (a sync with its
    /// leading 0xFF), for logging. It runs inside receive(), execute(), sync() and whatever
    /// releases held commands: it must not call back into the client.
    std::function<void(direction, std::string_view)> observer;
};

/// Options of sync(): when to give up waiting for the delimited reply.
struct sync_options {
    std::optional<time_point> deadline;  ///< absolute; overrides timeout
    std::optional<duration> timeout;     ///< relative to `now`; defaults to client sync_timeout
    std::optional<time_point> now;       ///< the current time, needed when a timeout applies
};

/// Per-command options of execute(): deadline and reply handling.
struct exec_options {
    std::optional<time_point> deadline;  ///< absolute; overrides timeout
    std::optional<duration> timeout;     ///< relative to `now`; defaults to client command_timeout
    std::optional<time_point> now;       ///< the current time, needed when a timeout applies
    bool expect_reply = true;            ///< false: fire and forget, needs a deadline (see no_reply)
};

/// A guest-agent client as a pure state machine (see the file comment).
class QWIRE_API client {
public:
    /// A client in unsynced: call sync() before trusting replies.
    explicit client(client_options options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    client(client&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    client& operator=(client&&) noexcept;
    ~client();

    // Getters.
    /// The current state; see client_state.
    [[nodiscard]] client_state state() const noexcept;
    /// True in unsynced, syncing and ready: inputs and commands are accepted.
    [[nodiscard]] bool is_open() const noexcept;
    /// True when a sync has completed and the stream is trusted.
    [[nodiscard]] bool is_ready() const noexcept { return state() == client_state::ready; }
    /// The options given at construction.
    [[nodiscard]] const client_options& options() const noexcept;
    /// Agent events dropped by the overflow policy.
    [[nodiscard]] std::uint64_t events_dropped() const noexcept;
    /// Protocol violations seen, fatal or not.
    [[nodiscard]] std::uint64_t violations() const noexcept;
    /// Messages, and stretches of bytes that were not JSON, ignored while the stream was not
    /// trusted (before a sync completed): stale replies, parse errors, garbage.
    [[nodiscard]] std::uint64_t discarded_messages() const noexcept;
    /// Requests (commands and a sync) whose outcome event has not been queued yet.
    [[nodiscard]] std::size_t pending_requests() const noexcept;

    // Inputs. Each returns invalid_state once the session is closing or closed (the bytes are
    // ignored: stop reading and close the transport when the disconnect event comes).
    /// Bytes read from the transport, in any pieces. Peer errors become events, not errors.
    tl::expected<void, error> receive(std::string_view bytes);
    /// The same as receive(std::string_view), for bytes held as std::byte.
    tl::expected<void, error> receive(std::span<const std::byte> bytes);
    /// The agent closed the connection: pending requests fail with connection_lost, then
    /// disconnect (peer_closed, or connection_lost when EOF cut a message).
    tl::expected<void, error> receive_eof();
    /// The transport failed: pending requests fail, then disconnect (connection_lost, cause ec).
    tl::expected<void, error> transport_failed(std::error_code ec);
    /// Time has reached `now`. Requests past their deadline fail with timed_out; if one of them
    /// (or the sync) had been sent, the client moves to unsynced and every other sent request
    /// fails with cancelled: call sync() before anything more is sent. Fire-and-forget
    /// requests at their deadline complete with no_reply instead (the stream stays trusted).
    /// Calling it early does nothing.
    tl::expected<void, error> handle_timeout(time_point now);

    // Commands.
    /// Starts a resynchronisation with a fresh `token` (see the file comment); returns the id of
    /// the sync request, whose outcome is synced or request_failed. Every request already sent
    /// (and an earlier sync still waiting) fails with cancelled first, in request order; bytes
    /// already queued for writing are still written (an adapter may be writing them), so the
    /// agent may still run those commands. Held commands stay held and go after the sync.
    /// Allowed in unsynced, syncing and ready; never refused for queue_full. Errors, with the
    /// state unchanged:
    ///   invalid_state     closing or closed: the session is over; make a new client.
    ///   invalid_argument  token above INT64_MAX (the agent refuses it), or a timeout with no
    ///                     sync_options::now: fix the call.
    ///   backlog_full      max_output_bytes are unwritten: write output, then retry.
    tl::expected<request_id, error> sync(std::uint64_t token, sync_options options = {});
    /// Queues a command; returns its id. Sent at once when ready (in in_order mode when no other
    /// command is in flight), otherwise held until a sync completes: call sync() if none is
    /// running. Errors, with the state unchanged:
    ///   invalid_state     closing or closed: the session is over; make a new client.
    ///   invalid_argument  empty command, guest-sync-delimited (use sync()), arguments not an
    ///                     object, a timeout with no exec_options::now, or expect_reply = false
    ///                     with no deadline: fix the call.
    ///   queue_full        max_queued_commands requests are pending: wait for outcomes.
    ///   backlog_full      max_output_bytes are unwritten: write output, then retry.
    tl::expected<request_id, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                            exec_options options = {});
    /// Gives up on a request: it fails with cancelled now. A held command simply goes away. A
    /// sent one (or the sync) loses the stream's trust, as a timeout does: the client moves to
    /// unsynced, every other sent request fails with cancelled, and sync() is needed.
    /// unknown_request if it already has an outcome; invalid_state when closing or closed.
    tl::expected<void, error> cancel(request_id id);
    /// Ends the session in order: stop accepting commands, fail pending requests with
    /// cancelled, then disconnect (reason closed). Unwritten output is discarded.
    /// invalid_state if already closing or closed.
    tl::expected<void, error> close();

    // Outputs.
    /// Bytes to write (no descriptors: the agent takes none); empty when closing.
    [[nodiscard]] output_view pending_output() const noexcept;
    /// n bytes of pending_output() were written.
    void consume_output(std::size_t n);
    /// The earliest deadline to arm a timer for, or none.
    [[nodiscard]] std::optional<time_point> next_deadline() const;
    /// The next event, or none when nothing is waiting. The disconnect event is the last ever.
    [[nodiscard]] std::optional<client_event> next_event();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace qwire::qga
