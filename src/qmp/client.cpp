// qwire::qmp::client — see the header for the contract.
//
// Theory of operation
// -------------------
// Bytes go through a json_framer; each frame is parsed, decoded (wire.hpp) and dispatched on
// the current state. The state only moves through advance(), which looks the move up in
// `transitions` below; a message that has no row in the current state is a fatal violation.
//
// Requests live in one pending table in request order. An in-band request is either held
// (waiting for `ready` or for a free in-flight slot) or released (its bytes are in the output).
// Released in-band requests occupy one of QEMU's queue slots (8 with OOB, 1 without) until
// QEMU answers them, even after they timed out or were cancelled ("abandoned": their outcome
// was already reported, so a late reply is dropped quietly and frees the slot). OOB requests
// are released at once and occupy no slot.
//
// Every path that ends the session goes through end_session(): it clears output and held
// commands, fails every request that has no outcome yet in request order, and queues the
// disconnect as the last event; the event queue accepts nothing after it. The move to
// `closed` happens when next_event() hands out that disconnect.
#include "qwire/qmp/client.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <variant>

#include "engine/event_queue.hpp"
#include "engine/lazy_deque.hpp"
#include "engine/output_queue.hpp"
#include "engine/pending_table.hpp"
#include "engine/session_calls.hpp"
#include "engine/session_input.hpp"
#include "engine/state_table.hpp"
#include "qmp/wire.hpp"
#include "qwire/framing/json_framer.hpp"

namespace qwire::qmp {
namespace {

using json = nlohmann::json;

enum class input : std::uint8_t { greeting, capabilities_accepted, end, disconnect_delivered };

using transition = engine::transition<client_state, input>;

// Every legal move of the session. Anything else is refused by advance().
constexpr transition transitions[] = {
    {client_state::awaiting_greeting, input::greeting, client_state::negotiating},
    {client_state::negotiating, input::capabilities_accepted, client_state::ready},
    {client_state::awaiting_greeting, input::end, client_state::closing},
    {client_state::negotiating, input::end, client_state::closing},
    {client_state::ready, input::end, client_state::closing},
    {client_state::closing, input::disconnect_delivered, client_state::closed},
};

constexpr std::size_t in_flight_with_oob = 8;
constexpr std::size_t in_flight_without_oob = 1;

// A wire id as a lookup key: unsigned integers (the automatic ids) directly, anything else by
// its compact JSON text.
struct wire_key {
    bool numeric = true;
    std::uint64_t number = 0;
    std::string text;
};

wire_key key_of(const json& id) {
    if (id.is_number_unsigned()) return {true, id.get<std::uint64_t>(), {}};
    if (id.is_number_integer() && id.get<std::int64_t>() >= 0) return {true, static_cast<std::uint64_t>(id.get<std::int64_t>()), {}};
    return {false, 0, wire::dump(id)};
}

struct request {
    std::string bytes;  // until released
    std::vector<int> fds;
    bool oob = false;
    bool expect_reply = true;
    bool has_deadline = false;
    bool released = false;
    bool abandoned = false;  // outcome already reported; waits only for QEMU's late reply
    std::optional<wire_key> key;
    bool automatic_key = false;  // the wire id is the request id: found through `pending`
};

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)),
          framer(json_framer_options{options.max_frame_bytes, options.max_depth, std::nullopt}),
          events(options.max_undelivered_events, options.on_event_overflow) {}

    client_options options;
    client_state state = client_state::awaiting_greeting;
    json_framer framer;
    engine::event_queue<client_event> events;
    engine::output_queue output;
    engine::pending_table<request> pending;
    engine::lazy_deque<std::uint64_t> held;  // in-band requests not yet released, in order
    std::unordered_map<std::uint64_t, std::uint64_t> numeric_keys;  // caller's wire id -> request
    std::map<std::string, std::uint64_t> text_keys;
    std::optional<qmp::greeting> greeting;
    bool oob = false;
    std::size_t in_flight = 0;  // released in-band requests QEMU has not answered
    std::size_t outcomes_owed = 0;  // requests with no outcome event yet
    std::uint64_t next_id = 0;
    std::uint64_t violations = 0;
    std::uint64_t late = 0;

    bool advance(input on) { return engine::advance(state, transitions, on); }

    bool is_open() const {
        return state == client_state::awaiting_greeting || state == client_state::negotiating ||
               state == client_state::ready;
    }

    static tl::unexpected<error> refuse(errc code, std::string detail) {
        return tl::unexpected(error(code, std::move(detail)));
    }

    tl::expected<void, error> require_open() const {
        if (is_open()) return {};
        return refuse(errc::invalid_state, "the session is closing or closed");
    }

    // --- ending the session -------------------------------------------------------------

    void end_session(errc per_request, error reason) {
        if (!advance(input::end)) return;
        output.clear();
        held.clear();
        numeric_keys.clear();
        text_keys.clear();
        in_flight = 0;
        outcomes_owed = 0;
        framer.reset();
        pending.fail_all(events, per_request, reason, [](const request& r) { return !r.abandoned; });
    }

    void fatal(error violation) {
        ++violations;
        end_session(errc::connection_lost, std::move(violation));
    }

    // --- requests ---------------------------------------------------------------------------

    std::size_t slot_limit() const { return oob ? in_flight_with_oob : in_flight_without_oob; }

    void send(std::uint64_t id, request& r) {
        if (options.observer) options.observer(direction::outbound, r.bytes);
        const bool notify = !r.expect_reply && !r.has_deadline;
        output.append(r.bytes, std::move(r.fds), id, notify);
        r.bytes = std::string();
        r.fds.clear();
        r.released = true;
        if (occupies_slot(r)) ++in_flight;
    }

    // Only in-band requests that expect a reply count against QEMU's queue.
    static bool occupies_slot(const request& r) { return !r.oob && r.expect_reply; }

    void release_held() {
        while (state == client_state::ready && !held.empty() && in_flight < slot_limit()) {
            const std::uint64_t id = held.front();
            held.pop_front();
            if (request* r = pending.find(id)) send(id, *r);
        }
    }

    void forget_key(const request& r) {
        if (!r.key || r.automatic_key) return;
        if (r.key->numeric) {
            numeric_keys.erase(r.key->number);
        } else {
            text_keys.erase(r.key->text);
        }
    }

    // Removes a request that QEMU no longer owes anything for, freeing its slot.
    void retire(std::uint64_t id) {
        auto r = pending.take(id);
        if (!r) return;
        forget_key(*r);
        if (r->released && occupies_slot(*r)) --in_flight;
        if (!r->released) held.erase(std::find(held.begin(), held.end(), id));
        release_held();
    }

    // Reports an outcome for a request before its reply. A sent request stays as abandoned:
    // QEMU may still answer it, and that late reply is then dropped quietly.
    void report_outcome(std::uint64_t id, client_event outcome) {
        request* r = pending.find(id);
        if (r == nullptr || r->abandoned) return;
        events.push(std::move(outcome));
        --outcomes_owed;
        if (r->released) {
            r->abandoned = true;
            pending.clear_deadline(id);
        } else {
            retire(id);
        }
    }

    // --- inbound ------------------------------------------------------------------------------

    void on_frame(std::string_view frame) {
        if (options.observer) options.observer(direction::inbound, frame);
        auto parsed = wire::parse_object(frame);
        if (!parsed) return fatal(std::move(parsed.error()));
        auto message = wire::decode_server_message(std::move(*parsed));
        if (!message) return fatal(std::move(message.error()));
        if (auto* e = std::get_if<event>(&*message)) return events.push_droppable(std::move(*e));
        if (auto* g = std::get_if<qmp::greeting>(&*message)) return on_greeting(std::move(*g));
        on_reply(std::get<wire::server_reply>(std::move(*message)));
    }

    void on_greeting(qmp::greeting g) {
        if (!advance(input::greeting)) return fatal(error(errc::unexpected_message, "a second greeting"));
        const bool offered = std::find(g.capabilities.begin(), g.capabilities.end(), "oob") != g.capabilities.end();
        const json args = offered && options.enable_oob ? json{{"enable", json::array({"oob"})}} : json(nullptr);
        greeting = g;
        events.push(std::move(g));
        const std::string caps = wire::encode_command("qmp_capabilities", args, false, nullptr);
        if (options.observer) options.observer(direction::outbound, caps);
        output.append(caps);
        oob = offered && options.enable_oob;  // takes effect when the server accepts
    }

    void on_reply(wire::server_reply r) {
        if (state == client_state::awaiting_greeting) {
            return fatal(error(errc::unexpected_message, "a reply before the greeting"));
        }
        if (state == client_state::negotiating) return on_capabilities_reply(std::move(r));
        const std::optional<std::uint64_t> id = r.id ? match_id(*r.id) : match_without_id(r);
        if (!id) return;  // reported by the matcher
        request* req = pending.find(*id);
        if (!req->released) {
            ++violations;
            events.push(protocol_violation{error(errc::unknown_reply_id, "a reply for a request not sent yet")});
            return;
        }
        if (req->abandoned) {
            ++late;
            return retire(*id);
        }
        if (r.ok) {
            events.push(reply{request_id{*id}, std::move(r.value)});
        } else {
            events.push(error_reply{request_id{*id}, std::move(r.error_class), std::move(r.desc)});
        }
        --outcomes_owed;
        retire(*id);
    }

    void on_capabilities_reply(wire::server_reply r) {
        if (r.id) {
            ++violations;
            events.push(protocol_violation{error(errc::unknown_reply_id, "a reply with id " + wire::dump(*r.id) + " during negotiation")});
            return;
        }
        if (!r.ok) {
            return fatal(error(errc::unexpected_message, "qmp_capabilities failed: " + r.error_class + ": " + r.desc));
        }
        advance(input::capabilities_accepted);
        events.push(ready{oob});
        release_held();
    }

    // Automatic ids (the request id, sent as a number) need no map of their own: the pending
    // table already finds the request by it. Ids the caller chose are kept in the maps.
    bool has_automatic_key(std::uint64_t number) {
        const request* r = pending.find(number);
        return r != nullptr && r->automatic_key;
    }

    std::optional<std::uint64_t> match_id(const json& wire_id) {
        const wire_key key = key_of(wire_id);
        if (key.numeric) {
            if (auto it = numeric_keys.find(key.number); it != numeric_keys.end()) return it->second;
            if (has_automatic_key(key.number)) return key.number;
        } else if (auto it = text_keys.find(key.text); it != text_keys.end()) {
            return it->second;
        }
        ++violations;
        events.push(protocol_violation{error(errc::unknown_reply_id, "a reply with id " + wire::dump(wire_id) +
                                                                         ", which no request has")});
        return std::nullopt;
    }

    // A reply without an id belongs to a request only when exactly one released request is
    // waiting, or exactly one was sent without an id.
    std::optional<std::uint64_t> match_without_id(const wire::server_reply& r) {
        std::size_t released = 0, anonymous = 0;
        std::uint64_t any_id = 0, anonymous_id = 0;
        pending.for_each([&](std::uint64_t id, const request& req) {
            if (!req.released) return;
            ++released;
            any_id = id;
            if (!req.key) {
                ++anonymous;
                anonymous_id = id;
            }
        });
        if (released == 1) return any_id;
        if (anonymous == 1) return anonymous_id;
        const std::string what = r.ok ? "a reply" : "an error reply (" + r.error_class + ": " + r.desc + ")";
        fatal(error(errc::unexpected_message,
                    what + " without an id while " + std::to_string(released) + " requests wait"));
        return std::nullopt;
    }

    // --- commands -----------------------------------------------------------------------------

    tl::expected<std::optional<time_point>, error> deadline_of(const exec_options& o) const {
        if (o.deadline) return o.deadline;
        const auto timeout = o.timeout ? o.timeout : options.command_timeout;
        if (!timeout) return std::nullopt;
        if (!o.now) return refuse(errc::invalid_argument, "a timeout applies but exec_options::now is not set");
        return *o.now + *timeout;
    }

    // What QEMU would refuse before running the command, refused here with its words.
    tl::expected<void, error> check_schema(std::string_view command, const json& arguments, bool oob) const {
        if (!options.schema) return {};
        if (auto valid = options.schema->validate(command, arguments); !valid) {
            return refuse(errc::invalid_argument, valid.error().detail());
        }
        if (oob && !options.schema->command(command)->allow_oob) {
            return refuse(errc::invalid_argument, "The command " + std::string(command) + " does not support OOB");
        }
        return {};
    }

    tl::expected<request_id, error> execute(std::string_view command, const json& arguments, exec_options o) {
        if (auto open = require_open(); !open) return tl::unexpected(open.error());
        if (command.empty()) return refuse(errc::invalid_argument, "the command name is empty");
        if (!arguments.is_null() && !arguments.is_object()) {
            return refuse(errc::invalid_argument, "arguments must be a JSON object");
        }
        if (o.oob && state != client_state::ready) {
            return refuse(errc::invalid_state, "OOB is known only after negotiation: wait for ready");
        }
        if (o.oob && !oob) return refuse(errc::not_supported, "OOB is not enabled on this session");
        if (o.oob && !o.send_id) return refuse(errc::invalid_argument, "an OOB command needs an id");
        if (auto checked = check_schema(command, arguments, o.oob); !checked) return tl::unexpected(checked.error());
        if (outcomes_owed >= options.max_queued_commands) {
            return refuse(errc::queue_full, std::to_string(outcomes_owed) + " requests are pending");
        }
        auto deadline = deadline_of(o);
        if (!deadline) return tl::unexpected(deadline.error());

        const std::uint64_t id = next_id;
        request r;
        json wire_id = o.id ? *o.id : json(id);
        if (o.send_id) {
            if (wire_id.is_null()) return refuse(errc::invalid_argument, "a null id cannot be matched");
            r.key = key_of(wire_id);
            r.automatic_key = !o.id;
            const bool taken = r.key->numeric ? numeric_keys.contains(r.key->number) || has_automatic_key(r.key->number)
                                              : text_keys.contains(r.key->text);
            if (taken) return refuse(errc::invalid_argument, "id " + wire::dump(wire_id) + " is in use");
        }
        r.bytes = wire::encode_command(command, arguments, o.oob, o.send_id ? &wire_id : nullptr);
        const std::size_t held_bytes = output.size() + r.bytes.size();
        if (held_bytes > options.max_output_bytes) {
            return refuse(errc::backlog_full, std::to_string(output.size()) + " bytes wait to be written");
        }
        r.fds = std::move(o.fds);
        r.oob = o.oob;
        r.expect_reply = o.expect_reply;
        ++next_id;
        ++outcomes_owed;
        if (r.key && !r.automatic_key) {
            if (r.key->numeric) {
                numeric_keys.emplace(r.key->number, id);
            } else {
                text_keys.emplace(r.key->text, id);
            }
        }
        r.has_deadline = deadline->has_value();
        pending.insert(id, std::move(r), *deadline);
        request& stored = *pending.find(id);
        if (stored.oob) {
            send(id, stored);
        } else {
            held.push_back(id);
            release_held();
        }
        return request_id{id};
    }

    // A fire-and-forget request without a deadline completes once written.
    void on_written(std::uint64_t id) { report_outcome(id, no_reply{request_id{id}}); }

    void handle_timeout(time_point now) {
        if (state != client_state::ready && options.handshake_deadline && now >= *options.handshake_deadline) {
            return end_session(errc::connection_lost,
                               error(errc::handshake_timed_out, state == client_state::awaiting_greeting
                                                                    ? "no greeting from the server"
                                                                    : "no reply to qmp_capabilities"));
        }
        for (std::uint64_t id : pending.expired(now)) {
            request* r = pending.find(id);
            if (r == nullptr) continue;
            if (!r->expect_reply) {
                report_outcome(id, no_reply{request_id{id}});
            } else {
                report_outcome(id, request_failed{request_id{id}, error(errc::timed_out, "no reply by the deadline")});
            }
        }
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

client_state client::state() const noexcept { return impl_->state; }
bool client::is_open() const noexcept { return impl_->is_open(); }
const std::optional<greeting>& client::greeting() const noexcept { return impl_->greeting; }
bool client::oob_enabled() const noexcept { return impl_->state == client_state::ready && impl_->oob; }
const client_options& client::options() const noexcept { return impl_->options; }
std::uint64_t client::events_dropped() const noexcept { return impl_->events.dropped(); }
std::uint64_t client::violations() const noexcept { return impl_->violations; }
std::uint64_t client::late_replies() const noexcept { return impl_->late; }
std::size_t client::pending_requests() const noexcept { return impl_->outcomes_owed; }

tl::expected<void, error> client::receive(std::string_view bytes) {
    if (auto open = impl_->require_open(); !open) return open;
    impl& i = *impl_;
    return engine::feed_frames(
        i.framer, bytes, [&i] { return i.is_open(); }, [&i](std::string_view frame) { i.on_frame(frame); },
        [] {}, [&i](error e) { i.fatal(std::move(e)); });
}

tl::expected<void, error> client::receive(std::span<const std::byte> bytes) {
    return receive(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

tl::expected<void, error> client::receive_eof() {
    return engine::end_at_eof(*impl_, impl_->framer.in_frame(), "message");
}

tl::expected<void, error> client::transport_failed(std::error_code ec) {
    return engine::end_on_transport_failure(*impl_, ec);
}

tl::expected<void, error> client::handle_timeout(time_point now) {
    if (auto open = impl_->require_open(); !open) return open;
    impl_->handle_timeout(now);
    return {};
}

tl::expected<request_id, error> client::execute(std::string_view command, nlohmann::json arguments,
                                                exec_options options) {
    return impl_->execute(command, arguments, std::move(options));
}

tl::expected<void, error> client::cancel(request_id id) {
    if (auto open = impl_->require_open(); !open) return open;
    const request* r = impl_->pending.find(id.value);
    if (r == nullptr || r->abandoned) {
        return tl::unexpected(error(errc::unknown_request, "request " + std::to_string(id.value) + " has no pending outcome"));
    }
    impl_->report_outcome(id.value, request_failed{id, error(errc::cancelled, "cancel() was called")});
    return {};
}

tl::expected<void, error> client::close() { return engine::close_session(*impl_); }

output_view client::pending_output() const noexcept { return engine::pending_output_of(*impl_); }

void client::consume_output(std::size_t n) {
    if (!impl_->is_open()) return;
    impl_->output.consume(n, [this](std::uint64_t id) { impl_->on_written(id); });
}

std::optional<time_point> client::next_deadline() const {
    if (!impl_->is_open()) return std::nullopt;
    std::optional<time_point> earliest = impl_->pending.next_deadline();
    if (impl_->state != client_state::ready && impl_->options.handshake_deadline) {
        if (!earliest || *impl_->options.handshake_deadline < *earliest) earliest = impl_->options.handshake_deadline;
    }
    return earliest;
}

std::optional<client_event> client::next_event() { return engine::pop_event(*impl_, input::disconnect_delivered); }

}  // namespace qwire::qmp
