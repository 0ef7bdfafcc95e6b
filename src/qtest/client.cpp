// qwire::qtest::client — see the header for the contract.
//
// Theory of operation
// -------------------
// Bytes go through a line_framer; each line is classified (wire.hpp). IRQ lines update the
// level table and queue a droppable irq event. Every other valid line is a reply and belongs to
// the oldest command without one: qtest has no ids, so order is the only link, and the client
// never lets it slip. A command is checked whole before anything is queued, then its line goes
// straight to the output (there is no handshake to wait for and no limit on commands in
// flight), and it joins the pending table in command order.
//
// A command whose outcome was reported before its reply (timed out, cancelled) stays in the
// table as "abandoned" until QEMU's reply comes, so that the replies after it still meet their
// own commands; that late reply is then dropped quietly. A reply while the table is empty is
// nobody's: it is dropped and reported. A reply that does not decode as what its command gets
// means the order has slipped already, and that is fatal, like every malformed line.
//
// The state only moves through advance(), which looks the move up in `transitions` below.
// Every path that ends the session goes through end_session(): it clears the output, fails
// every command that has no outcome yet in command order, and queues the disconnect as the last
// event; the event queue accepts nothing after it. The move to `closed` happens when
// next_event() hands out that disconnect.
#include "qwire/qtest/client.hpp"

#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <variant>

#include "engine/event_queue.hpp"
#include "engine/output_queue.hpp"
#include "engine/pending_table.hpp"
#include "engine/session_calls.hpp"
#include "engine/session_input.hpp"
#include "engine/state_table.hpp"
#include "qtest/base64.hpp"
#include "qtest/wire.hpp"
#include "qwire/framing/line_framer.hpp"

namespace qwire::qtest {
namespace {

enum class input : std::uint8_t { end, disconnect_delivered };

using transition = engine::transition<client_state, input>;

// Every legal move of the session. Anything else is refused by advance().
constexpr transition transitions[] = {
    {client_state::ready, input::end, client_state::closing},
    {client_state::closing, input::disconnect_delivered, client_state::closed},
};

struct request {
    wire::expect reply;
    std::string name;        // the command's first word, for error details
    bool abandoned = false;  // outcome already reported; waits only for QEMU's late reply
};

tl::unexpected<error> refuse(errc code, std::string detail) { return tl::unexpected(error(code, std::move(detail))); }

std::string_view first_word(std::string_view line) { return line.substr(0, line.find(' ')); }

// A command line: the name and its arguments, one space apart.
std::string words(std::string_view name, std::initializer_list<std::string_view> args) {
    std::string line(name);
    for (std::string_view a : args) {
        line += ' ';
        line += a;
    }
    return line;
}

constexpr std::uint64_t max8 = 0xff, max16 = 0xffff, max32 = 0xffffffff;
constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)),
          framer(line_framer_options{options.max_line_bytes}),
          events(options.max_undelivered_events, options.on_event_overflow) {}

    client_options options;
    client_state state = client_state::ready;
    line_framer framer;
    engine::event_queue<client_event> events;
    engine::output_queue output;
    engine::pending_table<request> pending;
    std::map<std::uint32_t, bool> irq_levels;
    std::size_t outcomes_owed = 0;  // commands with no outcome event yet
    std::uint64_t next_id = 0;
    std::uint64_t violations = 0;
    std::uint64_t late = 0;

    bool advance(input on) { return engine::advance(state, transitions, on); }

    bool is_open() const { return state == client_state::ready; }

    tl::expected<void, error> require_open() const {
        if (is_open()) return {};
        return refuse(errc::invalid_state, "the session is closing or closed");
    }

    // --- ending the session -------------------------------------------------------------

    void end_session(errc per_request, error reason) {
        if (!advance(input::end)) return;
        output.clear();
        framer.reset();
        outcomes_owed = 0;
        pending.fail_all(events, per_request, reason, [](const request& r) { return !r.abandoned; });
    }

    void fatal(error violation) {
        ++violations;
        end_session(errc::connection_lost, std::move(violation));
    }

    // --- inbound ------------------------------------------------------------------------------

    void on_line(std::string_view line) {
        if (options.observer) options.observer(direction::inbound, line);
        auto in = wire::classify(line);
        if (!in) return fatal(std::move(in.error()));
        if (in->what == wire::inbound::kind::irq) {
            const auto level = irq_levels.find(in->irq.line);
            if (level != irq_levels.end()) {
                level->second = in->irq.raised;
            } else if (irq_levels.size() < options.max_irq_lines) {
                irq_levels.emplace(in->irq.line, in->irq.raised);
            } else {
                return fatal(error(errc::unexpected_message, "more than max_irq_lines (" +
                                                                 std::to_string(options.max_irq_lines) +
                                                                 ") distinct IRQ lines: " + wire::quote(line)));
            }
            return events.push_droppable(in->irq);
        }
        auto oldest = pending.front();
        if (!oldest) {
            ++violations;
            events.push(protocol_violation{
                error(errc::unknown_reply_id, "a reply while no command waits: " + wire::quote(line))});
            return;
        }
        const auto [id, r] = *oldest;
        client_event outcome;
        if (in->what == wire::inbound::kind::ok) {
            auto value = wire::decode(r->reply, *in, r->name);
            if (!value) return fatal(std::move(value.error()));
            outcome = reply{request_id{id}, std::move(*value)};
        } else {
            outcome = error_reply{request_id{id}, std::string(in->text), in->err};
        }
        if (r->abandoned) {
            ++late;
        } else {
            events.push(std::move(outcome));
            --outcomes_owed;
        }
        pending.take(id);
    }

    // --- commands -----------------------------------------------------------------------------

    // Checks a command line and, if nothing refuses it, queues it.
    tl::expected<request_id, error> submit(std::string_view line, wire::expect reply, const exec_options& o) {
        if (auto open = require_open(); !open) return tl::unexpected(open.error());
        if (auto valid = wire::check_line(line, options.max_line_bytes); !valid) return tl::unexpected(valid.error());
        if (pending.size() >= options.max_queued_commands) {
            return refuse(errc::queue_full, std::to_string(pending.size()) + " commands are unanswered");
        }
        auto deadline = engine::resolve_deadline(o.deadline, o.timeout, options.command_timeout, o.now);
        if (!deadline) return tl::unexpected(deadline.error());
        if (output.size() + line.size() + 1 > options.max_output_bytes) {
            return refuse(errc::backlog_full, std::to_string(output.size()) + " bytes wait to be written");
        }
        if (options.observer) options.observer(direction::outbound, line);
        output.append(line);
        output.append("\n");
        const std::uint64_t id = next_id++;
        pending.insert(id, request{reply, std::string(first_word(line)), false}, *deadline);
        ++outcomes_owed;
        return request_id{id};
    }

    // readX and inX: one address or port, one value back.
    tl::expected<request_id, error> load(std::string_view name, std::uint64_t at, std::uint64_t max,
                                         const exec_options& o) {
        return submit(words(name, {wire::hex(at)}), wire::expect::number(max), o);
    }

    // writeX and outX: one address or port and a value, a bare OK back.
    tl::expected<request_id, error> store(std::string_view name, std::uint64_t at, std::uint64_t value,
                                          const exec_options& o) {
        return submit(words(name, {wire::hex(at), wire::hex(value)}), {}, o);
    }

    // Reports an outcome before the command's reply; the command waits for that reply abandoned.
    void abandon(std::uint64_t id, request& r, error why) {
        events.push(request_failed{request_id{id}, std::move(why)});
        --outcomes_owed;
        r.abandoned = true;
        pending.clear_deadline(id);
    }

    void handle_timeout(time_point now) {
        for (std::uint64_t id : pending.expired(now)) {
            if (request* r = pending.find(id)) abandon(id, *r, error(errc::timed_out, "no reply by the deadline"));
        }
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

// --- getters ------------------------------------------------------------------------------------

client_state client::state() const noexcept { return impl_->state; }
bool client::is_open() const noexcept { return impl_->is_open(); }
const client_options& client::options() const noexcept { return impl_->options; }

bool client::irq_raised(std::uint32_t line) const noexcept {
    const auto it = impl_->irq_levels.find(line);
    return it != impl_->irq_levels.end() && it->second;
}

const std::map<std::uint32_t, bool>& client::irq_levels() const noexcept { return impl_->irq_levels; }
std::uint64_t client::events_dropped() const noexcept { return impl_->events.dropped(); }
std::uint64_t client::violations() const noexcept { return impl_->violations; }
std::uint64_t client::late_replies() const noexcept { return impl_->late; }
std::size_t client::pending_requests() const noexcept { return impl_->outcomes_owed; }
std::size_t client::unanswered() const noexcept { return impl_->pending.size(); }

// --- inputs -------------------------------------------------------------------------------------

tl::expected<void, error> client::receive(std::string_view bytes) {
    if (auto open = impl_->require_open(); !open) return open;
    return engine::feed_frames(
        impl_->framer, bytes, [this] { return impl_->is_open(); },
        [this](std::string_view line) { impl_->on_line(line); }, [] {},
        [this](error e) { impl_->fatal(std::move(e)); });
}

tl::expected<void, error> client::receive(std::span<const std::byte> bytes) {
    return receive(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

tl::expected<void, error> client::receive_eof() {
    return engine::end_at_eof(*impl_, impl_->framer.in_frame(), "line");
}

tl::expected<void, error> client::transport_failed(std::error_code ec) {
    return engine::end_on_transport_failure(*impl_, ec);
}

tl::expected<void, error> client::handle_timeout(time_point now) {
    if (auto open = impl_->require_open(); !open) return open;
    impl_->handle_timeout(now);
    return {};
}

// --- commands -----------------------------------------------------------------------------------

tl::expected<request_id, error> client::readb(std::uint64_t addr, exec_options o) {
    return impl_->load("readb", addr, max8, o);
}
tl::expected<request_id, error> client::readw(std::uint64_t addr, exec_options o) {
    return impl_->load("readw", addr, max16, o);
}
tl::expected<request_id, error> client::readl(std::uint64_t addr, exec_options o) {
    return impl_->load("readl", addr, max32, o);
}
tl::expected<request_id, error> client::readq(std::uint64_t addr, exec_options o) {
    return impl_->load("readq", addr, max64, o);
}

tl::expected<request_id, error> client::writeb(std::uint64_t addr, std::uint8_t value, exec_options o) {
    return impl_->store("writeb", addr, value, o);
}
tl::expected<request_id, error> client::writew(std::uint64_t addr, std::uint16_t value, exec_options o) {
    return impl_->store("writew", addr, value, o);
}
tl::expected<request_id, error> client::writel(std::uint64_t addr, std::uint32_t value, exec_options o) {
    return impl_->store("writel", addr, value, o);
}
tl::expected<request_id, error> client::writeq(std::uint64_t addr, std::uint64_t value, exec_options o) {
    return impl_->store("writeq", addr, value, o);
}

tl::expected<request_id, error> client::inb(std::uint16_t port, exec_options o) {
    return impl_->load("inb", port, max8, o);
}
tl::expected<request_id, error> client::inw(std::uint16_t port, exec_options o) {
    return impl_->load("inw", port, max16, o);
}
tl::expected<request_id, error> client::inl(std::uint16_t port, exec_options o) {
    return impl_->load("inl", port, max32, o);
}

tl::expected<request_id, error> client::outb(std::uint16_t port, std::uint8_t value, exec_options o) {
    return impl_->store("outb", port, value, o);
}
tl::expected<request_id, error> client::outw(std::uint16_t port, std::uint16_t value, exec_options o) {
    return impl_->store("outw", port, value, o);
}
tl::expected<request_id, error> client::outl(std::uint16_t port, std::uint32_t value, exec_options o) {
    return impl_->store("outl", port, value, o);
}

tl::expected<request_id, error> client::read(std::uint64_t addr, std::uint64_t size, exec_options options) {
    return impl_->submit(words("read", {wire::hex(addr), std::to_string(size)}), {wire::expect::kind::hex_bytes, size},
                         options);
}

tl::expected<request_id, error> client::b64read(std::uint64_t addr, std::uint64_t size, exec_options options) {
    return impl_->submit(words("b64read", {wire::hex(addr), std::to_string(size)}),
                         {wire::expect::kind::base64_bytes, size}, options);
}

tl::expected<request_id, error> client::write(std::uint64_t addr, std::span<const std::uint8_t> data,
                                              exec_options options) {
    if (data.empty()) return refuse(errc::invalid_argument, "write: no data");
    return impl_->submit(words("write", {wire::hex(addr), std::to_string(data.size()), wire::hex_data(data)}), {},
                         options);
}

tl::expected<request_id, error> client::b64write(std::uint64_t addr, std::span<const std::uint8_t> data,
                                                 exec_options options) {
    if (data.empty()) return refuse(errc::invalid_argument, "b64write: no data");
    std::string line = words("b64write", {wire::hex(addr), std::to_string(data.size()), ""});
    base64::encode(data, line);
    return impl_->submit(line, {}, options);
}

tl::expected<request_id, error> client::memset(std::uint64_t addr, std::uint64_t size, std::uint8_t pattern,
                                               exec_options options) {
    return impl_->submit(words("memset", {wire::hex(addr), std::to_string(size), wire::hex(pattern)}), {}, options);
}

tl::expected<request_id, error> client::irq_intercept_in(std::string_view device, exec_options options) {
    if (auto ok = wire::check_word("irq_intercept_in: the device", device); !ok) return tl::unexpected(ok.error());
    return impl_->submit(words("irq_intercept_in", {device}), {}, options);
}

tl::expected<request_id, error> client::irq_intercept_out(std::string_view device, exec_options options) {
    if (auto ok = wire::check_word("irq_intercept_out: the device", device); !ok) return tl::unexpected(ok.error());
    return impl_->submit(words("irq_intercept_out", {device}), {}, options);
}

tl::expected<request_id, error> client::set_irq_in(std::string_view device, std::string_view name, int num, int level,
                                                   exec_options options) {
    if (auto ok = wire::check_word("set_irq_in: the device", device); !ok) return tl::unexpected(ok.error());
    if (auto ok = wire::check_word("set_irq_in: the GPIO list name", name); !ok) return tl::unexpected(ok.error());
    return impl_->submit(words("set_irq_in", {device, name, std::to_string(num), std::to_string(level)}), {}, options);
}

tl::expected<request_id, error> client::clock_step_next(exec_options options) {
    return impl_->submit("clock_step", {wire::expect::kind::clock}, options);
}

tl::expected<request_id, error> client::clock_step(std::chrono::nanoseconds step, exec_options options) {
    return impl_->submit(words("clock_step", {std::to_string(step.count())}), {wire::expect::kind::clock}, options);
}

tl::expected<request_id, error> client::clock_set(std::chrono::nanoseconds target, exec_options options) {
    return impl_->submit(words("clock_set", {std::to_string(target.count())}), {wire::expect::kind::clock}, options);
}

tl::expected<request_id, error> client::endianness(exec_options options) {
    return impl_->submit("endianness", {wire::expect::kind::endianness}, options);
}

tl::expected<request_id, error> client::module_load(std::string_view prefix, std::string_view name,
                                                    exec_options options) {
    if (auto ok = wire::check_word("module_load: the prefix", prefix); !ok) return tl::unexpected(ok.error());
    if (auto ok = wire::check_word("module_load: the name", name); !ok) return tl::unexpected(ok.error());
    return impl_->submit(words("module_load", {prefix, name}), {}, options);
}

tl::expected<request_id, error> client::raw(std::string_view line, exec_options options) {
    return impl_->submit(line, {wire::expect::kind::text}, options);
}

tl::expected<void, error> client::cancel(request_id id) {
    if (auto open = impl_->require_open(); !open) return open;
    request* r = impl_->pending.find(id.value);
    if (r == nullptr || r->abandoned) {
        return refuse(errc::unknown_request, "request " + std::to_string(id.value) + " has no pending outcome");
    }
    impl_->abandon(id.value, *r, error(errc::cancelled, "cancel() was called"));
    return {};
}

tl::expected<void, error> client::close() { return engine::close_session(*impl_); }

// --- outputs ------------------------------------------------------------------------------------

output_view client::pending_output() const noexcept { return engine::pending_output_of(*impl_); }

void client::consume_output(std::size_t n) {
    if (!impl_->is_open()) return;
    impl_->output.consume(n, [](std::uint64_t) {});
}

std::optional<time_point> client::next_deadline() const {
    if (!impl_->is_open()) return std::nullopt;
    return impl_->pending.next_deadline();
}

std::optional<client_event> client::next_event() { return engine::pop_event(*impl_, input::disconnect_delivered); }

}  // namespace qwire::qtest
