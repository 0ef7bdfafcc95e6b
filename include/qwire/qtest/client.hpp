/// \file
/// \brief A client for QEMU's qtest protocol as a pure state machine.
///
/// qtest (`qemu-system-… -qtest unix:SOCK,server=on,wait=off`) is the line protocol QEMU's device
/// tests use to read and write guest memory and I/O ports, drive IRQ lines and the virtual
/// clock. qwire::qtest::client speaks it without doing any I/O: the adapter feeds it the bytes it
/// reads (receive), tells it about EOF, transport failures and time; it hands back the bytes to
/// write (pending_output / consume_output), one deadline (next_deadline) and events (next_event).
/// It never reads a clock, never blocks and never calls user code while being fed, except the
/// optional observer.
///
/// Lifecycle (state()):
///
/// ~~~{.txt}
///   ready --fatal input, EOF, transport failure, close()--> closing
///   closing --the disconnect event is pulled--> closed
/// ~~~
///
/// There is no greeting and no negotiation: commands may be sent at once, and any number may be
/// in flight (QEMU answers them in order). Each command is one LF-terminated line; each gets
/// exactly one reply line, `OK [value]` or `FAIL [message]`, in the order sent, with no ids.
/// Every command method returns a request_id; exactly one outcome event follows for it: reply
/// (its value decoded for that command, see events.hpp), error_reply (FAIL: the session goes
/// on), or request_failed (timed_out, cancelled, connection_lost). A command that timed out or
/// was cancelled has been or will still be sent, and QEMU still runs it: its reply, when it
/// comes, is dropped silently (late_replies()), which keeps later replies matched to their
/// commands.
///
/// `IRQ raise N` / `IRQ lower N` lines may come at any time, between replies or with no command
/// waiting; they complete nothing. Each becomes an irq event (droppable: see
/// client_options::max_undelivered_events) and updates the level that irq_raised() reports.
///
/// Validation. QEMU aborts on some malformed qtest lines (a missing argument, a number it cannot
/// parse, `read` of length 0, a double space…), taking the guest down with it. So every command
/// is validated before anything is queued, and refused with invalid_argument if QEMU could abort
/// on it or if it could not be answered within max_line_bytes; raw() applies the same argument
/// rules to the commands it knows. Numbers go out as QEMU parses them: addresses and values in
/// hex (`0x1f`), sizes, IRQ numbers, levels and nanoseconds in decimal.
///
/// Peer errors. qtest has no ids, so a reply that cannot belong to the command it answers (an OK
/// that does not decode as that command's value: `OK` to a readl, `OK 0x1ff` to a readb), and
/// any line that is not a well-formed OK, FAIL, ERR or IRQ line (an empty line, a CR before the
/// LF, `IRQ up 5`, a line over max_line_bytes, an IRQ line beyond max_irq_lines) means the
/// stream is out of step or hostile, and is fatal (unexpected_message, frame_too_large): events
/// received before it are delivered, then every pending command fails with connection_lost in
/// command order, then one disconnect whose reason names the violation. The one survivable
/// violation is a reply while no command at all waits for one: it cannot be anybody's, so it is
/// dropped and reported (protocol_violation, unknown_reply_id). After the disconnect nothing
/// more comes out and every call returns invalid_state.
///
/// Not thread-safe; distinct clients are independent; movable (a moved-from client may only be
/// destroyed or assigned to). Only std::bad_alloc escapes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include <tl/expected.hpp>

#include "qwire/error.hpp"
#include "qwire/export.hpp"
#include "qwire/qtest/events.hpp"
#include "qwire/session.hpp"
#include "qwire/time.hpp"

namespace qwire::qtest {

/// The states of a client: ready -> closing -> closed. qtest has no handshake, so commands are
/// accepted at once.
enum class client_state : std::uint8_t { ready, closing, closed };

/// Limits, timeouts and hooks of a client, fixed at construction.
struct client_options {
    std::size_t max_line_bytes = 10 * 1024 * 1024;    ///< longest line accepted, LF excluded
    std::size_t max_undelivered_events = 10000;       ///< irq events waiting for next_event()
    overflow_policy on_event_overflow = overflow_policy::drop_oldest;  ///< what to drop when that limit is reached
    std::size_t max_irq_lines = 4096;                 ///< distinct IRQ lines tracked; one more is fatal
    std::size_t max_queued_commands = 10000;          ///< commands QEMU has not answered yet
    std::size_t max_output_bytes = 16 * 1024 * 1024;  ///< unwritten output accepted by a command
    std::optional<duration> command_timeout;          ///< default for every command; needs exec_options::now
    /// Sees every line received and every command sent, without its LF, for logging. It runs
    /// inside receive() and the command calls: it must not call back into the client.
    std::function<void(direction, std::string_view)> observer;
};

/// Per-command options: when to give up waiting for the reply.
struct exec_options {
    std::optional<time_point> deadline;  ///< absolute; overrides timeout
    std::optional<duration> timeout;     ///< relative to `now`; defaults to client command_timeout
    std::optional<time_point> now;       ///< the current time, needed when a timeout applies
};

/// set_irq_in's list name for a device's unnamed GPIO inputs.
inline constexpr std::string_view unnamed_gpio_in = "unnamed-gpio-in";

/// A qtest client as a pure state machine (see the file comment).
class QWIRE_API client {
public:
    /// A client in ready: commands may be issued at once.
    explicit client(client_options options = {});
    /// Moves the object; the moved-from one may only be destroyed or assigned to.
    client(client&&) noexcept;
    /// Move assignment, with the same rule as the move constructor.
    client& operator=(client&&) noexcept;
    ~client();

    // Getters.
    /// The current state; see client_state.
    [[nodiscard]] client_state state() const noexcept;
    /// True in ready: inputs and commands are accepted.
    [[nodiscard]] bool is_open() const noexcept;
    /// The options given at construction.
    [[nodiscard]] const client_options& options() const noexcept;
    /// The level of an intercepted IRQ line as of the last byte received: true after
    /// `IRQ raise line`, false after `IRQ lower line` and for lines never reported (QEMU starts
    /// every line low for a new connection and reports changes only).
    [[nodiscard]] bool irq_raised(std::uint32_t line) const noexcept;
    /// Every IRQ line reported so far, with its level.
    [[nodiscard]] const std::map<std::uint32_t, bool>& irq_levels() const noexcept;
    /// irq events dropped by the overflow policy (irq_raised() stays exact).
    [[nodiscard]] std::uint64_t events_dropped() const noexcept;
    /// Protocol violations seen, fatal or not.
    [[nodiscard]] std::uint64_t violations() const noexcept;
    /// Replies that arrived after their command timed out or was cancelled, dropped silently.
    [[nodiscard]] std::uint64_t late_replies() const noexcept;
    /// Commands whose outcome event has not been queued yet.
    [[nodiscard]] std::size_t pending_requests() const noexcept;
    /// Commands QEMU has not answered yet, timed-out and cancelled ones included: what
    /// max_queued_commands limits.
    [[nodiscard]] std::size_t unanswered() const noexcept;

    // Inputs. Each returns invalid_state once the session is closing or closed (the bytes are
    // ignored: stop reading and close the transport when the disconnect event comes).
    /// Bytes read from the transport, in any pieces. Peer errors become events, not errors.
    tl::expected<void, error> receive(std::string_view bytes);
    /// The same as receive(std::string_view), for bytes held as std::byte.
    tl::expected<void, error> receive(std::span<const std::byte> bytes);
    /// The peer closed the connection: pending commands fail, then disconnect (peer_closed, or
    /// connection_lost when EOF cut a line).
    tl::expected<void, error> receive_eof();
    /// The transport failed: pending commands fail, then disconnect (connection_lost, cause ec).
    tl::expected<void, error> transport_failed(std::error_code ec);
    /// Time has reached `now`: fails commands past their deadline with timed_out; the session
    /// goes on and their late replies are dropped. Calling it early does nothing.
    tl::expected<void, error> handle_timeout(time_point now);

    // Commands. Each queues one line at once and returns the command's id; its outcome comes
    // later as an event. Errors, with nothing queued and the state unchanged:
    //   invalid_state     closing or closed: the session is over; make a new client.
    //   invalid_argument  an argument QEMU could abort on (named for each command below), a
    //                     reply that could not fit in max_line_bytes, or a timeout with no
    //                     exec_options::now: fix the call.
    //   queue_full        max_queued_commands are unanswered: wait for replies (or, if QEMU
    //                     hangs, close()).
    //   backlog_full      max_output_bytes are unwritten: write output, then retry.

    /// Guest memory, one naturally sized value at `addr` in the target's byte order; the
    /// reply holds a std::uint64_t no wider than the access.
    tl::expected<request_id, error> readb(std::uint64_t addr, exec_options options = {});
    /// The same, 16 bits wide.
    tl::expected<request_id, error> readw(std::uint64_t addr, exec_options options = {});
    /// The same, 32 bits wide.
    tl::expected<request_id, error> readl(std::uint64_t addr, exec_options options = {});
    /// The same, 64 bits wide.
    tl::expected<request_id, error> readq(std::uint64_t addr, exec_options options = {});
    /// Writes one value to guest memory; the reply holds std::monostate.
    tl::expected<request_id, error> writeb(std::uint64_t addr, std::uint8_t value, exec_options options = {});
    /// The same, 16 bits wide.
    tl::expected<request_id, error> writew(std::uint64_t addr, std::uint16_t value, exec_options options = {});
    /// The same, 32 bits wide.
    tl::expected<request_id, error> writel(std::uint64_t addr, std::uint32_t value, exec_options options = {});
    /// The same, 64 bits wide.
    tl::expected<request_id, error> writeq(std::uint64_t addr, std::uint64_t value, exec_options options = {});
    /// Port input; the reply holds a std::uint64_t no wider than the access.
    tl::expected<request_id, error> inb(std::uint16_t port, exec_options options = {});
    /// The same, 16 bits wide.
    tl::expected<request_id, error> inw(std::uint16_t port, exec_options options = {});
    /// The same, 32 bits wide.
    tl::expected<request_id, error> inl(std::uint16_t port, exec_options options = {});
    /// Port output; the reply holds std::monostate.
    tl::expected<request_id, error> outb(std::uint16_t port, std::uint8_t value, exec_options options = {});
    /// The same, 16 bits wide.
    tl::expected<request_id, error> outw(std::uint16_t port, std::uint16_t value, exec_options options = {});
    /// The same, 32 bits wide.
    tl::expected<request_id, error> outl(std::uint16_t port, std::uint32_t value, exec_options options = {});

    /// `size` bytes of guest memory, sent as hex; the reply holds bytes of exactly that size.
    /// invalid_argument: size 0 (QEMU aborts), or a reply (2×size + 5 bytes) over max_line_bytes.
    tl::expected<request_id, error> read(std::uint64_t addr, std::uint64_t size, exec_options options = {});
    /// The same as base64 (a third shorter on the wire). invalid_argument: size 0, or a reply
    /// over max_line_bytes.
    tl::expected<request_id, error> b64read(std::uint64_t addr, std::uint64_t size, exec_options options = {});
    /// Writes `data` to guest memory, sent as hex. invalid_argument: empty data.
    tl::expected<request_id, error> write(std::uint64_t addr, std::span<const std::uint8_t> data,
                                          exec_options options = {});
    /// The same, sent as base64. invalid_argument: empty data.
    tl::expected<request_id, error> b64write(std::uint64_t addr, std::span<const std::uint8_t> data,
                                             exec_options options = {});
    /// Fills `size` bytes with `pattern` (QEMU allocates `size` bytes to do it). invalid_argument:
    /// size 0 (QEMU would do nothing: most likely a mistake).
    tl::expected<request_id, error> memset(std::uint64_t addr, std::uint64_t size, std::uint8_t pattern,
                                           exec_options options = {});

    /// Intercepts the unnamed GPIO inputs (outputs) of the device at QOM path `device`, e.g.
    /// "ioapic"; their changes then arrive as irq events. QEMU intercepts one device per run:
    /// another device gets `FAIL IRQ intercept already enabled`, a path to nothing `FAIL Unknown
    /// device`; a path to an object that is not a device (e.g. "/machine") makes QEMU abort,
    /// which only QEMU can check. invalid_argument: `device` is not one word (empty, a space, a
    /// control character, invalid UTF-8).
    tl::expected<request_id, error> irq_intercept_in(std::string_view device, exec_options options = {});
    /// The same for the device's unnamed GPIO outputs.
    tl::expected<request_id, error> irq_intercept_out(std::string_view device, exec_options options = {});
    /// Sets input `num` of the device's GPIO list `name` (unnamed_gpio_in for the unnamed one)
    /// to `level`. invalid_argument: `device` or `name` is not one word, or num < 0. QEMU also
    /// aborts when the device has no such list or `num` is beyond it, which only it can check.
    tl::expected<request_id, error> set_irq_in(std::string_view device, std::string_view name, int num, int level,
                                               exec_options options = {});

    /// The virtual clock (only with the qtest accelerator; QEMU without it answers
    /// `FAIL Unknown command`). Each reply holds the clock after the step, in nanoseconds.
    /// clock_step_next advances to the next timer deadline; clock_step by `step`; clock_set to
    /// `target` (newer QEMUs answer `FAIL <ns>` when they cannot reach it exactly).
    tl::expected<request_id, error> clock_step_next(exec_options options = {});
    /// Advances the virtual clock by `step` (see clock_step_next()).
    tl::expected<request_id, error> clock_step(std::chrono::nanoseconds step, exec_options options = {});
    /// Advances the virtual clock to `target` (see clock_step_next()).
    tl::expected<request_id, error> clock_set(std::chrono::nanoseconds target, exec_options options = {});

    /// The target's byte order; the reply holds a qtest::endianness.
    tl::expected<request_id, error> endianness(exec_options options = {});
    /// Loads module `name` of kind `prefix` (e.g. "accel", "tcg"); QEMU answers a bare FAIL when
    /// it cannot. invalid_argument: `prefix` or `name` is not one word.
    tl::expected<request_id, error> module_load(std::string_view prefix, std::string_view name,
                                                exec_options options = {});

    /// Any other line, without its LF; the reply holds the text after `OK ` as a std::string.
    /// invalid_argument: an empty line; a control character (CR included: QEMU does not strip
    /// it); invalid UTF-8; a leading, trailing or double space (QEMU splits on every single
    /// space); or a command this client knows with arguments QEMU would abort on or misread
    /// (too few; too many, which QEMU ignores; a number QEMU cannot parse or that is out of
    /// range; a zero size; data whose length does not match the size; a reply over
    /// max_line_bytes). Lines starting with any other word go out as they are (QEMU answers
    /// `FAIL Unknown command` to what it does not know).
    tl::expected<request_id, error> raw(std::string_view line, exec_options options = {});

    /// Gives up on a command: it fails with cancelled now; its reply, when it comes, is dropped.
    /// unknown_request if it already has an outcome; invalid_state when closing or closed.
    tl::expected<void, error> cancel(request_id id);
    /// Ends the session in order: stop accepting commands, fail pending commands with
    /// cancelled, then disconnect (reason closed). Unwritten output is discarded.
    /// invalid_state if already closing or closed.
    tl::expected<void, error> close();

    // Outputs.
    /// Bytes to write (never with descriptors); empty when closing.
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

}  // namespace qwire::qtest
