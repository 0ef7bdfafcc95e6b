/// \file
/// \brief The server side of QMP as a pure state machine: a fake QEMU.
///
/// qwire::qmp::server speaks QMP the way QEMU 7.2's monitor does, byte for byte, so that
/// programs can be tested without QEMU. Like the client it does no I/O: the adapter feeds it
/// the bytes a client sent (receive), tells it about EOF and transport failures, writes what
/// pending_output() holds and pulls events with next_event(). Time enters only as the
/// timestamps the application gives its events.
///
/// What it does by itself, as QEMU does:
///   - queues the greeting at construction (version and capabilities from server_options);
///   - reads the input with QEMU's JSON rules (single quotes, no duplicate keys, recovery after
///     an error) and answers what it cannot parse with QEMU's id-less GenericError
///     ("JSON parse error, …", "QMP input must be a JSON object");
///   - checks each request's members (execute/exec-oob, arguments, id) with QEMU's wording,
///     echoing the id verbatim (a number beyond a double's range comes back as QEMU writes
///     it, `inf` or `-inf`, which is not JSON);
///   - negotiates: before qmp_capabilities every other command gets CommandNotFound "Expecting
///     capabilities negotiation with 'qmp_capabilities'"; after it, "Capabilities negotiation
///     is already complete, command ignored"; it enables OOB when asked and offered;
///   - with a schema (server_options::schema), answers commands the schema lacks with
///     CommandNotFound "The command X has not been found", checks arguments (GenericError
///     "Parameter 'x' is missing", …), and refuses exec-oob for commands without allow-oob.
///
/// Everything else is the application's: each command that passes these checks becomes a
/// `command` event, which the application answers, now or later, with reply() or reply_error().
/// In-band commands are answered on the wire in the order they came, whatever order the
/// application answers them in (QEMU runs them one at a time); OOB commands are answered as
/// soon as the application does, overtaking in-band ones. Like QEMU, the server stops reading
/// while its in-band queue is full (1 command without OOB, 8 queued plus 1 running with OOB)
/// and while an OOB command is not answered (QEMU runs it before reading on: answer OOB
/// commands at once): input_suspended() tells the adapter to stop reading; bytes already fed
/// wait inside.
///
/// Lifecycle (state()):
///
/// ~~~{.txt}
///   negotiating --qmp_capabilities accepted--> ready
///   negotiating or ready --EOF, transport failure, close()--> closing
///   closing --the disconnect event is pulled--> closed
/// ~~~
///
/// Malformed input never ends the session (QEMU never drops a client for it): each bad message
/// gets QEMU's error reply and a protocol_violation event. At the end every command not yet
/// answered fails (request_failed: connection_lost, or cancelled after close()), in order, then
/// one disconnect; nothing comes out after it and every call returns invalid_state.
///
/// Not thread-safe; distinct servers are independent; movable. Only std::bad_alloc escapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
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

/// The states of a server: negotiating (the greeting is out; the client must send
/// qmp_capabilities) -> ready -> closing -> closed.
enum class server_state : std::uint8_t { negotiating, ready, closing, closed };

/// The greeting's version of the QEMU the corpus was recorded from (7.2.22, Debian).
[[nodiscard]] QWIRE_API nlohmann::json qemu_7_2_version();

/// What the server says it is and which limits it keeps, fixed at construction.
struct server_options {
    /// The greeting's "version" (what query-version returns).
    nlohmann::json version = qemu_7_2_version();
    /// The greeting's "capabilities"; QEMU offers "oob" on socket monitors.
    std::vector<std::string> capabilities = {"oob"};
    /// When set: commands not in it are not found, arguments are checked, allow-oob is
    /// honoured, and replies and events are written with the schema's member order.
    std::shared_ptr<const qmp::schema> schema;
    /// Without a schema: the commands that may be sent with exec-oob (QEMU 7.2's).
    std::vector<std::string> oob_commands = {"migrate-recover", "migrate-pause", "yank", "query-yank"};
    /// Write every message over many indented lines, like `-mon …,pretty=on`.
    bool pretty = false;
    std::size_t max_message_bytes = std::size_t{64} << 20;  ///< one message's tokens (QEMU's limit)
    std::size_t max_depth = 1024;                           ///< JSON nesting (QEMU's limit)
    std::size_t max_input_backlog = 16 * 1024 * 1024;       ///< bytes held while input_suspended()
    std::size_t max_output_bytes = 16 * 1024 * 1024;        ///< output above which input stops and emit_event() refuses
    std::size_t max_undelivered_violations = 1000;          ///< protocol_violation events kept (oldest dropped)
    /// Sees every message sent (without its CRLF) and every JSON value received (as QEMU's
    /// writer prints it; input that does not parse is not shown), for logging. It runs inside
    /// receive(), reply()…: it must not call back into the server.
    std::function<void(direction, std::string_view)> observer;
};

/// A command for the application to answer with reply() or reply_error().
struct command {
    request_id id;                      ///< the handle to answer with
    std::string name;                   ///< e.g. "query-status"
    nlohmann::json arguments;           ///< always an object ({} when the client sent none)
    std::optional<nlohmann::json> wire_id;  ///< the client's "id", if any (echoed by the server)
    bool oob = false;                   ///< sent with exec-oob: answer it at once
    /// Equal when every member is.
    friend bool operator==(const command&, const command&) = default;
};

/// What a server hands out. `ready` says negotiation completed (and whether OOB is on);
/// protocol_violation reports a message the server answered with an error because it could not
/// use it (not JSON, not an object, malformed members; error() carries QEMU's text);
/// request_failed ends a command the session ended before it was answered.
using server_event = std::variant<ready, command, request_failed, protocol_violation, disconnect>;

/// The server side of QMP, a fake QEMU for tests (see the file comment).
class QWIRE_API server {
public:
    /// Queues the greeting.
    explicit server(server_options options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    server(server&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    server& operator=(server&&) noexcept;
    ~server();

    // Getters.
    /// The current state; see server_state.
    [[nodiscard]] server_state state() const noexcept;
    /// True in negotiating and ready.
    [[nodiscard]] bool is_open() const noexcept;
    /// True once the client has negotiated: commands come out as events.
    [[nodiscard]] bool is_ready() const noexcept { return state() == server_state::ready; }
    /// True when the client enabled out-of-band commands in negotiation.
    [[nodiscard]] bool oob_enabled() const noexcept;
    /// The options given at construction.
    [[nodiscard]] const server_options& options() const noexcept;
    /// True while the server reads no more input (an OOB command waits for its answer, the
    /// in-band queue is full, or too much output waits):
    /// the adapter should stop reading until it turns false (after replies or written output),
    /// as QEMU stops reading its socket.
    [[nodiscard]] bool input_suspended() const noexcept;
    /// Commands handed out and not answered yet.
    [[nodiscard]] std::size_t pending_commands() const noexcept;
    /// Messages answered with an error because they were malformed (each also an event).
    [[nodiscard]] std::uint64_t violations() const noexcept;
    /// Commands the server refused itself (not found, bad arguments, OOB not allowed…).
    [[nodiscard]] std::uint64_t rejected_commands() const noexcept;
    /// protocol_violation events dropped because max_undelivered_violations were waiting.
    [[nodiscard]] std::uint64_t events_dropped() const noexcept;

    // Inputs. Each returns invalid_state once the session is closing or closed.
    /// Bytes read from the client, in any pieces. Malformed input is answered, not an error.
    /// backlog_full when input_suspended() and max_input_backlog bytes already wait: the bytes
    /// were not taken; stop reading until input_suspended() is false, then feed them again.
    tl::expected<void, error> receive(std::string_view bytes);
    /// The same as receive(std::string_view), for bytes held as std::byte.
    tl::expected<void, error> receive(std::span<const std::byte> bytes);
    /// The client closed the connection: unanswered commands fail (connection_lost), then
    /// disconnect (peer_closed, or connection_lost when EOF cut a message).
    tl::expected<void, error> receive_eof();
    /// The transport failed: unanswered commands fail, then disconnect (connection_lost).
    tl::expected<void, error> transport_failed(std::error_code ec);
    /// The server has no timers (next_deadline() is always empty); this does nothing.
    tl::expected<void, error> handle_timeout(time_point now);

    // Commands.
    /// Answers a command with `{"return": value}`. Errors, with nothing sent:
    ///   invalid_state    closing or closed: the client is gone.
    ///   unknown_request  no unanswered command has that id (answered already, or never).
    /// An in-band answer waits for the answers to earlier in-band commands; this may let the
    /// server read buffered input, so new events can follow.
    tl::expected<void, error> reply(request_id id, nlohmann::json value = nlohmann::json::object());
    /// Answers a command with `{"error": {"class": …, "desc": …}}`; errors as reply(), and
    /// invalid_argument for an empty class.
    tl::expected<void, error> reply_error(request_id id, std::string_view error_class, std::string_view desc);
    /// Sends an event now: `{"timestamp": …, "event": name, "data": data}` (no "data" when null).
    /// Errors, with nothing sent:
    ///   invalid_state     closing or closed; or still negotiating: QEMU sends events only
    ///                     after qmp_capabilities (it drops them), so drop it or wait for ready.
    ///   invalid_argument  empty name, or data neither an object nor null.
    ///   backlog_full      max_output_bytes wait to be written: write output, then retry.
    tl::expected<void, error> emit_event(std::string_view name, const nlohmann::json& data, timestamp when);
    /// Ends the session: unanswered commands fail with cancelled, then disconnect (closed).
    /// Unwritten output is discarded. invalid_state if already closing or closed.
    tl::expected<void, error> close();

    // Outputs.
    /// Bytes to write (never with descriptors); empty when closing.
    [[nodiscard]] output_view pending_output() const noexcept;
    /// n bytes of pending_output() were written (may let the server read buffered input).
    void consume_output(std::size_t n);
    /// Always none: the server keeps no deadlines.
    [[nodiscard]] std::optional<time_point> next_deadline() const;
    /// The next event, or none. The disconnect event is the last ever.
    [[nodiscard]] std::optional<server_event> next_event();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace qwire::qmp
