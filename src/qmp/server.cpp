// qwire::qmp::server — see the header for the contract.
//
// Theory of operation
// -------------------
// Input goes through qemu::reader (QEMU's lexer, streamer and parser), one message at a time.
// Each message takes one of two paths, as in QEMU's monitor/qmp.c:
//
//   out of band  a request with "exec-oob" and no "execute" (QEMU's qmp_is_oob): checked and,
//                when it passes, handed to the application as a command at once; its answer,
//                the application's or the server's own error, is written the moment it exists.
//   in band     everything else, parse errors included: it takes a slot at the end of the
//                in-band queue. A slot holds either a command handed to the application or an
//                answer the server gave itself; answers leave the queue strictly from its head,
//                so the wire order is the arrival order, like QEMU's one-at-a-time dispatcher.
//
// The server reads no further input (input_suspended()) while an OOB command waits for its
// answer (QEMU runs it in its I/O thread before reading on), while the in-band queue is full
// (one slot without OOB; with OOB QEMU's 8 queued plus the one running), or while more than
// max_output_bytes wait to be written. So at most 10 commands wait for the application. What was fed stays in the reader until then: pump() resumes reading after each
// answer and each write.
//
// The state only moves through advance(), which looks the move up in `transitions`. Every path
// that ends the session goes through end_session(): it clears output, the queue and the reader,
// fails every unanswered command in order, and queues the disconnect as the last event. The
// move to `closed` happens when next_event() hands out that disconnect.
#include "qwire/qmp/server.hpp"

#include <algorithm>
#include <deque>

#include "engine/event_queue.hpp"
#include "engine/output_queue.hpp"
#include "engine/pending_table.hpp"
#include "engine/session_calls.hpp"
#include "engine/state_table.hpp"
#include "qmp/qemu_json.hpp"
#include "qmp/schema_model.hpp"
#include "qmp/wire.hpp"

namespace qwire::qmp {
namespace {

using json = nlohmann::json;
using qemu::ordered_json;

enum class input : std::uint8_t { capabilities_accepted, end, disconnect_delivered };

using transition = engine::transition<server_state, input>;

// Every legal move of the session. Anything else is refused by advance().
constexpr transition transitions[] = {
    {server_state::negotiating, input::capabilities_accepted, server_state::ready},
    {server_state::negotiating, input::end, server_state::closing},
    {server_state::ready, input::end, server_state::closing},
    {server_state::closing, input::disconnect_delivered, server_state::closed},
};

// QEMU's QMP_REQ_QUEUE_LEN_MAX, plus the request its dispatcher is running.
constexpr std::size_t in_band_slots_with_oob = 8 + 1;
constexpr std::size_t in_band_slots_without_oob = 1;

// A command handed to the application and not answered yet.
struct unanswered {
    bool oob = false;
    std::optional<ordered_json> wire_id;
    const detail::type_node* ret_type = nullptr;
};

// One request in the in-band queue, in arrival order.
struct in_band_slot {
    std::optional<std::uint64_t> command;  // handed to the application; none for the server's own answer
    std::optional<std::string> answer;     // the bytes, once known
};

enum class path : std::uint8_t { in_band, out_of_band };

}  // namespace

nlohmann::json qemu_7_2_version() {
    return json{{"qemu", {{"major", 7}, {"minor", 2}, {"micro", 22}}}, {"package", "Debian 1:7.2+dfsg-7+deb12u18+b3"}};
}

struct server::impl {
    explicit impl(server_options o)
        : options(std::move(o)),
          builtin(detail::builtin_model(options.capabilities)),
          types(options.schema ? &options.schema->linked() : &builtin),
          reader(qemu::reader_limits{options.max_message_bytes, std::size_t{2} << 20, options.max_depth}),
          events(options.max_undelivered_violations, overflow_policy::drop_oldest) {
        const detail::type_node* version = types->command("query-version");
        write(wire::encode_greeting(options.version, options.capabilities, version ? version->ret_type : nullptr,
                                    options.pretty));
    }

    server_options options;
    detail::model builtin;
    const detail::model* types;
    qemu::reader reader;
    engine::event_queue<server_event> events;
    engine::output_queue output;
    engine::pending_table<unanswered> waiting;
    std::deque<in_band_slot> in_band;
    server_state state = server_state::negotiating;
    bool oob = false;
    std::size_t oob_waiting = 0;  // OOB commands not answered: QEMU runs them before reading on
    std::uint64_t next_id = 0;
    std::uint64_t violations = 0;
    std::uint64_t rejected = 0;

    bool advance(input on) { return engine::advance(state, transitions, on); }

    bool is_open() const { return state == server_state::negotiating || state == server_state::ready; }

    static tl::unexpected<error> refuse(errc code, std::string detail) {
        return tl::unexpected(error(code, std::move(detail)));
    }

    tl::expected<void, error> require_open() const {
        if (is_open()) return {};
        return refuse(errc::invalid_state, "the session is closing or closed");
    }

    std::size_t in_band_limit() const { return oob ? in_band_slots_with_oob : in_band_slots_without_oob; }

    bool suspended() const {
        return oob_waiting > 0 || in_band.size() >= in_band_limit() || output.size() > options.max_output_bytes;
    }

    // --- ending -------------------------------------------------------------------------------

    void end_session(errc per_command, error reason) {
        if (!advance(input::end)) return;
        output.clear();
        in_band.clear();
        oob_waiting = 0;
        reader.reset();
        waiting.fail_all(events, per_command, reason, [](const unanswered&) { return true; });
    }

    // --- output -------------------------------------------------------------------------------

    void write(std::string bytes) {
        if (options.observer) options.observer(direction::outbound, std::string_view(bytes).substr(0, bytes.size() - 2));
        output.append(bytes);
    }

    void flush_in_band() {
        while (!in_band.empty() && in_band.front().answer) {
            write(std::move(*in_band.front().answer));
            in_band.pop_front();
        }
    }

    // An answer the server gives itself.
    void answer(path p, std::string bytes) {
        if (p == path::out_of_band) return write(std::move(bytes));
        in_band.push_back(in_band_slot{std::nullopt, std::move(bytes)});
        flush_in_band();
    }

    void answer_error(path p, const std::optional<ordered_json>& id, std::string_view error_class, std::string_view desc) {
        answer(p, wire::encode_error(error_class, desc, id ? &*id : nullptr, options.pretty));
    }

    void violation(errc code, const std::string& desc) {
        ++violations;
        events.push_droppable(protocol_violation{error(code, desc)});
    }

    // --- input --------------------------------------------------------------------------------

    void pump() {
        while (is_open() && (reader.has_message() || !suspended())) {
            std::optional<qemu::message> m = reader.next();
            if (!m) break;
            on_message(std::move(*m));
        }
    }

    void on_message(qemu::message m) {
        if (!m.value) {
            // QEMU queues a parse error in band and answers it without an id.
            violation(m.code, m.error);
            return answer_error(path::in_band, std::nullopt, "GenericError", m.error);
        }
        if (options.observer) options.observer(direction::inbound, qemu::dump(*m.value));
        const path p = wire::is_oob_request(*m.value) ? path::out_of_band : path::in_band;
        auto decoded = wire::decode_client_command(std::move(*m.value), oob);
        if (!decoded) {
            violation(errc::unexpected_message, decoded.error().desc);
            return answer_error(p, decoded.error().id, "GenericError", decoded.error().desc);
        }
        on_command(std::move(*decoded), p);
    }

    bool command_exists(const std::string& name) const {
        if (name.empty()) return false;  // QEMU: "The command  has not been found"
        if (state == server_state::negotiating) return name == "qmp_capabilities";
        if (options.schema) return types->command(name) != nullptr;
        return true;
    }

    bool allows_oob(const std::string& name, const detail::type_node* cmd) const {
        if (options.schema) return cmd != nullptr && cmd->allow_oob;
        return std::find(options.oob_commands.begin(), options.oob_commands.end(), name) != options.oob_commands.end();
    }

    // What QEMU's qmp_dispatch() does once the request's members are fine.
    void on_command(wire::client_command c, path p) {
        auto reject = [&](std::string_view error_class, const std::string& desc) {
            ++rejected;
            answer_error(p, c.id, error_class, desc);
        };
        if (!command_exists(c.name)) {
            // In negotiation mode QEMU replaces the text of every CommandNotFound error.
            return reject("CommandNotFound", state == server_state::negotiating
                                                 ? "Expecting capabilities negotiation with 'qmp_capabilities'"
                                                 : "The command " + c.name + " has not been found");
        }
        const detail::type_node* cmd = types->command(c.name);
        if (c.oob && !allows_oob(c.name, cmd)) return reject("GenericError", "The command " + c.name + " does not support OOB");
        if (cmd != nullptr && !detail::unchecked_arguments(c.name)) {
            if (auto problem = detail::check_arguments(cmd->arg_type, c.arguments)) return reject("GenericError", *problem);
        }
        if (c.name == "qmp_capabilities") return on_capabilities(c, p);

        const std::uint64_t id = next_id++;
        waiting.insert(id, unanswered{c.oob, c.id, cmd != nullptr ? cmd->ret_type : nullptr}, std::nullopt);
        if (p == path::in_band) {
            in_band.push_back(in_band_slot{id, std::nullopt});
        } else {
            ++oob_waiting;
        }
        std::optional<json> wire_id;
        if (c.id) wire_id = json(*c.id);
        events.push(command{request_id{id}, std::move(c.name), json(c.arguments), std::move(wire_id), c.oob});
    }

    // QEMU's qmp_qmp_capabilities() and qmp_caps_accept().
    void on_capabilities(const wire::client_command& c, path p) {
        if (state != server_state::negotiating) {
            ++rejected;
            return answer_error(p, c.id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
        }
        bool want_oob = false;
        std::string unavailable;
        if (auto enable = c.arguments.find("enable"); enable != c.arguments.end() && enable->is_array()) {
            for (const ordered_json& cap : *enable) {
                const std::string name = cap.is_string() ? cap.get<std::string>() : std::string();
                if (name == "oob") want_oob = true;
                if (std::find(options.capabilities.begin(), options.capabilities.end(), name) == options.capabilities.end()) {
                    unavailable += (unavailable.empty() ? "" : ", ") + name;
                }
            }
        }
        if (!unavailable.empty()) {
            ++rejected;
            return answer_error(p, c.id, "GenericError", "Capability " + unavailable + " not available");
        }
        answer(p, wire::encode_return(json::object(), nullptr, c.id ? &*c.id : nullptr, options.pretty));
        oob = want_oob;
        advance(input::capabilities_accepted);
        events.push(ready{oob});
    }

    // --- answers from the application -------------------------------------------------------

    tl::expected<void, error> complete(request_id id, const std::function<std::string(const unanswered&)>& encode) {
        if (auto open = require_open(); !open) return open;
        std::optional<unanswered> u = waiting.take(id.value);
        if (!u) return refuse(errc::unknown_request, "command " + std::to_string(id.value) + " is not waiting for an answer");
        std::string bytes = encode(*u);
        if (u->oob) {
            --oob_waiting;
            write(std::move(bytes));
        } else {
            for (in_band_slot& slot : in_band) {
                if (slot.command == id.value) {
                    slot.answer = std::move(bytes);
                    break;
                }
            }
            flush_in_band();
        }
        pump();
        return {};
    }
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
server::server(server&&) noexcept = default;
server& server::operator=(server&&) noexcept = default;
server::~server() = default;

server_state server::state() const noexcept { return impl_->state; }
bool server::is_open() const noexcept { return impl_->is_open(); }
bool server::oob_enabled() const noexcept { return impl_->state == server_state::ready && impl_->oob; }
const server_options& server::options() const noexcept { return impl_->options; }
bool server::input_suspended() const noexcept { return impl_->is_open() && impl_->suspended(); }
std::size_t server::pending_commands() const noexcept { return impl_->waiting.size(); }
std::uint64_t server::violations() const noexcept { return impl_->violations; }
std::uint64_t server::rejected_commands() const noexcept { return impl_->rejected; }
std::uint64_t server::events_dropped() const noexcept { return impl_->events.dropped(); }

tl::expected<void, error> server::receive(std::string_view bytes) {
    if (auto open = impl_->require_open(); !open) return open;
    if (impl_->suspended() && impl_->reader.buffered() + bytes.size() > impl_->options.max_input_backlog) {
        return impl::refuse(errc::backlog_full, std::to_string(impl_->reader.buffered()) +
                                                    " bytes wait while input is suspended; stop reading until it resumes");
    }
    impl_->reader.feed(bytes);
    impl_->pump();
    return {};
}

tl::expected<void, error> server::receive(std::span<const std::byte> bytes) {
    return receive(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

tl::expected<void, error> server::receive_eof() {
    return engine::end_at_eof(*impl_, impl_->reader.in_message(), "message");
}

tl::expected<void, error> server::transport_failed(std::error_code ec) {
    return engine::end_on_transport_failure(*impl_, ec);
}

tl::expected<void, error> server::handle_timeout(time_point) { return impl_->require_open(); }

tl::expected<void, error> server::reply(request_id id, nlohmann::json value) {
    return impl_->complete(id, [&](const unanswered& u) {
        return wire::encode_return(value, u.ret_type, u.wire_id ? &*u.wire_id : nullptr, impl_->options.pretty);
    });
}

tl::expected<void, error> server::reply_error(request_id id, std::string_view error_class, std::string_view desc) {
    if (auto open = impl_->require_open(); !open) return open;
    if (error_class.empty()) return impl::refuse(errc::invalid_argument, "the error class is empty");
    return impl_->complete(id, [&](const unanswered& u) {
        return wire::encode_error(error_class, desc, u.wire_id ? &*u.wire_id : nullptr, impl_->options.pretty);
    });
}

tl::expected<void, error> server::emit_event(std::string_view name, const nlohmann::json& data, timestamp when) {
    if (auto open = impl_->require_open(); !open) return open;
    if (impl_->state == server_state::negotiating) {
        return impl::refuse(errc::invalid_state, "QEMU sends events only after capabilities negotiation");
    }
    if (name.empty()) return impl::refuse(errc::invalid_argument, "the event name is empty");
    if (!data.is_null() && !data.is_object()) return impl::refuse(errc::invalid_argument, "event data must be an object");
    if (impl_->output.size() > impl_->options.max_output_bytes) {
        return impl::refuse(errc::backlog_full, std::to_string(impl_->output.size()) + " bytes wait to be written");
    }
    const detail::type_node* event = impl_->types->event(name);
    impl_->write(wire::encode_event(name, data, when, event != nullptr ? event->arg_type : nullptr, impl_->options.pretty));
    return {};
}

tl::expected<void, error> server::close() { return engine::close_session(*impl_); }

output_view server::pending_output() const noexcept { return engine::pending_output_of(*impl_); }

void server::consume_output(std::size_t n) {
    if (!impl_->is_open()) return;
    impl_->output.consume(n, [](std::uint64_t) {});
    impl_->pump();
}

std::optional<time_point> server::next_deadline() const { return std::nullopt; }

std::optional<server_event> server::next_event() { return engine::pop_event(*impl_, input::disconnect_delivered); }

}  // namespace qwire::qmp
