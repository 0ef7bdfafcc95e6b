/// \file
/// \brief A QMP client as a pure state machine.
///
/// qwire::qmp::client speaks the QEMU Machine Protocol without doing any I/O: the adapter feeds
/// it the bytes it reads (receive), tells it about EOF, transport failures and time; it hands
/// back the bytes to write (pending_output / consume_output), one deadline (next_deadline) and
/// events (next_event). It never reads a clock, never blocks and never calls user code while
/// being fed, except the optional message observer.
///
/// Lifecycle (state()):
///
/// ~~~{.txt}
///   awaiting_greeting --greeting--> negotiating --capabilities accepted--> ready
///   any of those three --fatal input, EOF, transport failure, handshake timeout, close()--> closing
///   closing --the disconnect event is pulled--> closed
/// ~~~
///
/// Negotiation runs by itself: on the greeting the client sends qmp_capabilities, enabling OOB
/// when the server offers it and client_options::enable_oob is set. Commands may be executed in
/// any open state; before `ready` they are held and sent after negotiation, in order. QEMU events
/// are accepted in every open state, before the greeting too.
///
/// Requests: execute() returns a request_id; exactly one outcome event follows for it: reply,
/// error_reply, no_reply (fire-and-forget), or request_failed (timed_out, cancelled,
/// connection_lost). The client picks wire ids itself (small integers: the request_id's value)
/// unless exec_options::id gives one; replies are matched by id whatever their key order. In-band
/// commands in flight are limited to what QEMU queues (8 with OOB, 1 without); more are held and
/// released as replies arrive. A request that timed out or was cancelled after it was sent keeps
/// its slot until QEMU's late reply arrives, which is then dropped silently (late_replies()).
///
/// Peer errors: a reply with an unknown id is dropped and reported (protocol_violation,
/// unknown_reply_id). Anything else that is not a valid QMP server message (not JSON, not an
/// object, invalid UTF-8, over a limit, a reply without return/error, an error reply without an
/// id when not exactly one request waits for it…) is fatal: events received before it are
/// delivered, then every pending request fails with connection_lost in request order, then one
/// disconnect whose reason names the violation. After the disconnect nothing more comes out and
/// every call returns invalid_state.
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
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/qmp/events.hpp"
#include "qwire/qmp/schema.hpp"
#include "qwire/session.hpp"
#include "qwire/time.hpp"

namespace qwire::qmp {

/// The states of a client, in the order a session goes through them: awaiting_greeting ->
/// negotiating -> ready -> closing -> closed. The file comment has what each state accepts.
enum class client_state : std::uint8_t { awaiting_greeting, negotiating, ready, closing, closed };

/// Limits, timeouts and hooks of a client, fixed at construction.
struct client_options {
    std::size_t max_frame_bytes = 10 * 1024 * 1024;  ///< largest message accepted
    std::size_t max_depth = 1024;                    ///< deepest JSON nesting accepted
    std::size_t max_undelivered_events = 10000;      ///< QEMU events waiting for next_event()
    overflow_policy on_event_overflow = overflow_policy::drop_oldest;  ///< what to drop when that limit is reached
    std::size_t max_queued_commands = 10000;          ///< requests not yet completed
    std::size_t max_output_bytes = 16 * 1024 * 1024;  ///< unwritten output accepted by execute()
    bool enable_oob = true;                           ///< ask for OOB when the server offers it
    std::optional<time_point> handshake_deadline;     ///< greeting and negotiation must end by then
    std::optional<duration> command_timeout;          ///< default for execute(); needs exec_options::now
    /// When set, execute() checks each command against it as QEMU would (command known,
    /// arguments, allow-oob) and refuses, with QEMU's wording, what QEMU would refuse.
    std::shared_ptr<const qmp::schema> schema;
    /// Sees every message received (after framing) and sent, for logging. It runs inside
    /// receive() and execute(): it must not call back into the client.
    std::function<void(direction, std::string_view)> observer;
};

/// Per-command options of execute(): OOB, deadline, file descriptors, reply handling, id.
struct exec_options {
    bool oob = false;                     ///< send as exec-oob; needs OOB enabled (ready)
    std::optional<time_point> deadline;   ///< absolute; overrides timeout
    std::optional<duration> timeout;      ///< relative to `now`; defaults to client command_timeout
    std::optional<time_point> now;        ///< the current time, needed when a timeout applies
    std::vector<int> fds;                 ///< sent with the command's first byte (SCM_RIGHTS)
    bool expect_reply = true;             ///< false: fire and forget (see no_reply)
    std::optional<nlohmann::json> id;     ///< wire id to send instead of the automatic one
    bool send_id = true;                  ///< false: send no id (matched only when unambiguous)
};

/// A QMP client as a pure state machine (see the file comment).
class QWIRE_API client {
public:
    /// A client in awaiting_greeting: feed it what the server sends.
    explicit client(client_options options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    client(client&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    client& operator=(client&&) noexcept;
    ~client();

    // Getters.
    /// The current state; see client_state.
    [[nodiscard]] client_state state() const noexcept;
    /// True in awaiting_greeting, negotiating and ready: inputs and commands are accepted.
    [[nodiscard]] bool is_open() const noexcept;
    /// True once negotiation is done: commands are sent as soon as they are issued.
    [[nodiscard]] bool is_ready() const noexcept { return state() == client_state::ready; }
    /// The server's greeting, once it has arrived.
    [[nodiscard]] const std::optional<qmp::greeting>& greeting() const noexcept;
    /// True when negotiation enabled out-of-band commands (exec_options::oob).
    [[nodiscard]] bool oob_enabled() const noexcept;
    /// The options given at construction.
    [[nodiscard]] const client_options& options() const noexcept;
    /// QEMU events dropped by the overflow policy.
    [[nodiscard]] std::uint64_t events_dropped() const noexcept;
    /// Protocol violations seen, fatal or not.
    [[nodiscard]] std::uint64_t violations() const noexcept;
    /// Replies that arrived after their request timed out or was cancelled, dropped silently.
    [[nodiscard]] std::uint64_t late_replies() const noexcept;
    /// Requests executed whose outcome event has not been queued yet.
    [[nodiscard]] std::size_t pending_requests() const noexcept;

    // Inputs. Each returns invalid_state once the session is closing or closed (the bytes are
    // ignored: stop reading and close the transport when the disconnect event comes).
    /// Bytes read from the transport, in any pieces. Peer errors become events, not errors.
    tl::expected<void, error> receive(std::string_view bytes);
    /// The same as receive(std::string_view), for bytes held as std::byte.
    tl::expected<void, error> receive(std::span<const std::byte> bytes);
    /// The peer closed the connection: pending requests fail, then disconnect (peer_closed, or
    /// connection_lost when EOF cut a message).
    tl::expected<void, error> receive_eof();
    /// The transport failed: pending requests fail, then disconnect (connection_lost, cause ec).
    tl::expected<void, error> transport_failed(std::error_code ec);
    /// Time has reached `now`: fails requests past their deadline with timed_out (the session
    /// goes on), completes fire-and-forget requests at theirs, and ends a handshake past its
    /// deadline (handshake_timed_out). Calling it early does nothing.
    tl::expected<void, error> handle_timeout(time_point now);

    // Commands.
    /// Queues a command; returns its id. Errors, with the state unchanged:
    ///   invalid_state     closing or closed: the session is over; make a new client.
    ///                     Also an OOB command before ready: wait for the ready event.
    ///   invalid_argument  empty command, arguments not an object, id already in use, a
    ///                     timeout with no exec_options::now, or (with client_options::schema)
    ///                     a command QEMU would refuse, QEMU's text in the detail: fix the call.
    ///   not_supported     OOB requested but not enabled on this session: send it in-band.
    ///   queue_full        max_queued_commands requests are pending: wait for outcomes.
    ///   backlog_full      max_output_bytes are unwritten: write output, then retry.
    tl::expected<request_id, error> execute(std::string_view command, nlohmann::json arguments = nullptr,
                                            exec_options options = {});
    /// Gives up on a request: it fails with cancelled now; a reply that still comes is dropped.
    /// unknown_request if it already has an outcome; invalid_state when closed.
    tl::expected<void, error> cancel(request_id id);
    /// Ends the session in order: stop accepting commands, fail pending requests with
    /// cancelled, then disconnect (reason closed). Unwritten output is discarded.
    /// invalid_state if already closing or closed.
    tl::expected<void, error> close();

    // Outputs.
    /// Bytes to write and the descriptors that ride with their first byte; empty when closing.
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

}  // namespace qwire::qmp
