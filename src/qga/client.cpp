// qwire::qga::client — see the header for the contract.
//
// Theory of operation
// -------------------
// Bytes go through a json_framer whose reset byte is 0xFF. What happens to each frame, reset
// and framing error depends on trust:
//
//   unsynced  nothing is trusted: frames and framing errors are discarded (counted); a 0xFF
//             means nothing.
//   syncing   the same, except that a 0xFF sets `sentinel_seen`, and once it is set the frame
//             `{"return":TOKEN}` (no id, no error, an integer equal to the token) completes the
//             sync. A framing error leaves the framer discarding until the next 0xFF, which
//             every real sync reply brings, so garbage can delay a sync but never corrupt it.
//   ready     frames are parsed and decoded (qmp/wire.hpp) as replies or events; a 0xFF or a
//             framing, parse or decode error is fatal.
//
// The state only moves through advance(), which looks the move up in `transitions` below.
//
// Requests live in one pending table in request order: commands and syncs alike. A command is
// held (in `held`, bytes kept in the entry) until the client is ready and, in in_order mode, no
// other command is in flight; then it is sent (its bytes go to the output). A sync is sent at
// once. Invariants: sent commands exist only in `ready`; the one sent sync exists only in
// `syncing` (`sync_id`). Whenever the client stops waiting for something it sent without its
// reply (timeout, cancel, a new sync), lose_trust() fails every other sent request with
// cancelled, so the table never holds a request whose reply could be confused with another's.
//
// Every path that ends the session goes through end_session(): it clears output and held
// commands, fails every pending request in request order, and queues the disconnect as the
// last event; the event queue accepts nothing after it. The move to `closed` happens when
// next_event() hands out that disconnect.
#include "qwire/qga/client.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/event_queue.hpp"
#include "engine/output_queue.hpp"
#include "engine/pending_table.hpp"
#include "engine/session_calls.hpp"
#include "engine/session_input.hpp"
#include "engine/state_table.hpp"
#include "qmp/wire.hpp"
#include "qwire/framing/json_framer.hpp"

namespace qwire::qga {
namespace {

using json = nlohmann::json;
namespace wire = qmp::wire;

constexpr std::uint8_t sentinel = 0xFF;
constexpr std::string_view sync_command = "guest-sync-delimited";

enum class input : std::uint8_t { sync, synced, trust_lost, end, disconnect_delivered };

using transition = engine::transition<client_state, input>;

// Every legal move of the session. Anything else is refused by advance().
constexpr transition transitions[] = {
    {client_state::unsynced, input::sync, client_state::syncing},
    {client_state::syncing, input::sync, client_state::syncing},
    {client_state::ready, input::sync, client_state::syncing},
    {client_state::syncing, input::synced, client_state::ready},
    {client_state::syncing, input::trust_lost, client_state::unsynced},
    {client_state::ready, input::trust_lost, client_state::unsynced},
    {client_state::unsynced, input::end, client_state::closing},
    {client_state::syncing, input::end, client_state::closing},
    {client_state::ready, input::end, client_state::closing},
    {client_state::closing, input::disconnect_delivered, client_state::closed},
};

struct request {
    bool is_sync = false;
    bool sent = false;
    bool expect_reply = true;
    std::string bytes;  // until sent
};

tl::unexpected<error> refuse(errc code, std::string detail) { return tl::unexpected(error(code, std::move(detail))); }

// A non-negative integer id, as the client sends them.
std::optional<std::uint64_t> own_id(const json& id) {
    if (id.is_number_unsigned()) return id.get<std::uint64_t>();
    if (id.is_number_integer() && id.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(id.get<std::int64_t>());
    return std::nullopt;
}

// `{"return":TOKEN}`: the agent's answer to guest-sync-delimited (no id: the client sends none).
bool is_sync_reply(std::string_view frame, std::uint64_t token) {
    auto message = wire::parse_object(frame);
    if (!message || message->contains("id") || message->contains("error")) return false;
    auto value = message->find("return");
    return value != message->end() && value->is_number_integer() && *value == json(token);
}

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)),
          framer(json_framer_options{options.max_frame_bytes, options.max_depth, sentinel}),
          events(options.max_undelivered_events, options.on_event_overflow) {}

    client_options options;
    client_state state = client_state::unsynced;
    json_framer framer;
    engine::event_queue<client_event> events;
    engine::output_queue output;
    engine::pending_table<request> pending;
    std::deque<std::uint64_t> held;       // commands not yet sent, in order
    std::size_t in_flight = 0;            // sent commands
    std::optional<std::uint64_t> sync_id;  // the sync waiting for its token
    std::uint64_t token = 0;
    bool sentinel_seen = false;  // a 0xFF arrived since the sync started
    std::uint64_t next_id = 0;
    std::uint64_t violations = 0;
    std::uint64_t discarded = 0;

    bool advance(input on) { return engine::advance(state, transitions, on); }

    bool is_open() const {
        return state == client_state::unsynced || state == client_state::syncing || state == client_state::ready;
    }

    tl::expected<void, error> require_open() const {
        if (is_open()) return {};
        return refuse(errc::invalid_state, "the session is closing or closed");
    }

    void observe(direction d, std::string_view message) const {
        if (options.observer) options.observer(d, message);
    }

    // --- ending the session -------------------------------------------------------------

    void end_session(errc per_request, error reason) {
        if (!advance(input::end)) return;
        output.clear();
        held.clear();
        in_flight = 0;
        sync_id.reset();
        framer.reset();
        pending.fail_all(events, per_request, reason, [](const request&) { return true; });
    }

    void fatal(error violation) {
        ++violations;
        end_session(errc::connection_lost, std::move(violation));
    }

    // --- requests ---------------------------------------------------------------------------

    void send(request& r) {
        observe(direction::outbound, r.bytes);
        output.append(r.bytes);
        r.bytes = std::string();
        r.sent = true;
        ++in_flight;
    }

    void release_held() {
        while (state == client_state::ready && !held.empty() &&
               (options.matching == match_mode::by_id || in_flight == 0)) {
            const std::uint64_t id = held.front();
            held.pop_front();
            if (request* r = pending.find(id)) send(*r);
        }
    }

    // Removes a request that has its outcome.
    void retire(std::uint64_t id) {
        auto r = pending.take(id);
        if (!r) return;
        if (r->is_sync) {
            sync_id.reset();
        } else if (r->sent) {
            --in_flight;
        } else {
            held.erase(std::find(held.begin(), held.end(), id));
        }
    }

    void complete(std::uint64_t id, client_event outcome) {
        events.push(std::move(outcome));
        retire(id);
    }

    void fail(std::uint64_t id, errc code, std::string detail) {
        complete(id, request_failed{request_id{id}, error(code, std::move(detail))});
    }

    // Every sent request still waiting (commands and a sync) fails with cancelled, in request
    // order: its reply can no longer be told from a stale one.
    void cancel_sent(const std::string& why) {
        std::vector<std::uint64_t> sent;
        pending.for_each([&](std::uint64_t id, const request& r) {
            if (r.sent) sent.push_back(id);
        });
        for (std::uint64_t id : sent) fail(id, errc::cancelled, why);
    }

    void lose_trust(const std::string& why) {
        cancel_sent(why + "; the stream is not trusted until sync() completes");
        advance(input::trust_lost);
    }

    // --- inbound ------------------------------------------------------------------------------

    void on_reset() {
        if (state == client_state::ready) {
            return fatal(error(errc::unexpected_message, "a 0xFF byte outside a sync"));
        }
        if (state == client_state::syncing) sentinel_seen = true;
    }

    void on_framing_error(error e) {
        if (state == client_state::ready) return fatal(std::move(e));
        ++discarded;  // the framer skips to the next 0xFF
    }

    void on_frame(std::string_view frame) {
        observe(direction::inbound, frame);
        if (state != client_state::ready) return on_untrusted_frame(frame);
        auto parsed = wire::parse_object(frame);
        if (!parsed) return fatal(std::move(parsed.error()));
        auto message = wire::decode_server_message(std::move(*parsed));
        if (!message) return fatal(std::move(message.error()));
        if (auto* e = std::get_if<event>(&*message)) return events.push_droppable(std::move(*e));
        if (std::holds_alternative<qmp::greeting>(*message)) {
            return fatal(error(errc::unexpected_message, "a QMP greeting from a guest agent"));
        }
        on_reply(std::get<wire::server_reply>(std::move(*message)));
    }

    void on_untrusted_frame(std::string_view frame) {
        if (state != client_state::syncing || !sentinel_seen || !is_sync_reply(frame, token)) {
            ++discarded;
            return;
        }
        const std::uint64_t id = *sync_id;
        advance(input::synced);
        complete(id, synced{request_id{id}, token});
        release_held();
    }

    void on_reply(wire::server_reply r) {
        const std::optional<std::uint64_t> id = r.id ? match_id(*r.id) : match_without_id(r);
        if (!id) return;  // reported by the matcher
        if (r.ok) {
            complete(*id, reply{request_id{*id}, std::move(r.value)});
        } else {
            complete(*id, error_reply{request_id{*id}, std::move(r.error_class), std::move(r.desc)});
        }
        release_held();
    }

    std::optional<std::uint64_t> match_id(const json& wire_id) {
        if (options.matching == match_mode::by_id) {
            const auto id = own_id(wire_id);
            const request* r = id ? pending.find(*id) : nullptr;
            if (r != nullptr && r->sent && !r->is_sync) return id;
        }
        ++violations;
        const std::string which = options.matching == match_mode::by_id ? ", which no request has"
                                                                         : " (in_order mode sends no ids)";
        events.push(protocol_violation{error(errc::unknown_reply_id, "a reply with id " + wire::dump(wire_id) + which)});
        return std::nullopt;
    }

    // A reply without an id belongs to the command in flight when there is exactly one (always
    // so in in_order mode); otherwise nobody can tell whose it is.
    std::optional<std::uint64_t> match_without_id(const wire::server_reply& r) {
        if (in_flight == 1) {
            std::optional<std::uint64_t> only;
            pending.for_each([&](std::uint64_t id, const request& req) {
                if (req.sent) only = id;
            });
            return only;
        }
        const std::string what = r.ok ? "a reply" : "an error reply (" + r.error_class + ": " + r.desc + ")";
        fatal(error(errc::unexpected_message,
                    what + " without an id while " + std::to_string(in_flight) + " commands wait"));
        return std::nullopt;
    }

    // --- commands -----------------------------------------------------------------------------

    tl::expected<void, error> check_backlog(std::size_t bytes) const {
        if (output.size() + bytes <= options.max_output_bytes) return {};
        return refuse(errc::backlog_full, std::to_string(output.size()) + " bytes wait to be written");
    }

    tl::expected<request_id, error> sync(std::uint64_t new_token, const sync_options& o) {
        if (auto open = require_open(); !open) return tl::unexpected(open.error());
        if (new_token > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return refuse(errc::invalid_argument, "the agent takes the token as a signed 64-bit integer");
        }
        auto deadline = engine::resolve_deadline(o.deadline, o.timeout, options.sync_timeout, o.now);
        if (!deadline) return tl::unexpected(deadline.error());
        std::string bytes(1, static_cast<char>(sentinel));
        bytes += wire::encode_command(sync_command, json{{"id", new_token}}, false, nullptr);
        if (auto room = check_backlog(bytes.size()); !room) return tl::unexpected(room.error());

        cancel_sent("sync() started");
        advance(input::sync);
        framer.reset();
        sentinel_seen = false;
        token = new_token;
        const std::uint64_t id = next_id++;
        sync_id = id;
        observe(direction::outbound, bytes);
        output.append(bytes);
        pending.insert(id, request{true, true, true, {}}, *deadline);
        return request_id{id};
    }

    tl::expected<request_id, error> execute(std::string_view command, const json& arguments, const exec_options& o) {
        if (auto open = require_open(); !open) return tl::unexpected(open.error());
        if (command.empty()) return refuse(errc::invalid_argument, "the command name is empty");
        if (command == sync_command) return refuse(errc::invalid_argument, "use sync() for guest-sync-delimited");
        if (!arguments.is_null() && !arguments.is_object()) {
            return refuse(errc::invalid_argument, "arguments must be a JSON object");
        }
        if (pending.size() >= options.max_queued_commands) {
            return refuse(errc::queue_full, std::to_string(pending.size()) + " requests are pending");
        }
        auto deadline = engine::resolve_deadline(o.deadline, o.timeout, options.command_timeout, o.now);
        if (!deadline) return tl::unexpected(deadline.error());
        if (!o.expect_reply && !*deadline) {
            return refuse(errc::invalid_argument, "a fire-and-forget command needs a deadline");
        }
        const std::uint64_t id = next_id;
        const json wire_id(id);
        request r;
        r.bytes = wire::encode_command(command, arguments, false,
                                       options.matching == match_mode::by_id ? &wire_id : nullptr);
        if (auto room = check_backlog(r.bytes.size()); !room) return tl::unexpected(room.error());
        r.expect_reply = o.expect_reply;
        ++next_id;
        pending.insert(id, std::move(r), *deadline);
        held.push_back(id);
        release_held();
        return request_id{id};
    }

    tl::expected<void, error> cancel(request_id id) {
        if (auto open = require_open(); !open) return open;
        const request* r = pending.find(id.value);
        if (r == nullptr) {
            return refuse(errc::unknown_request, "request " + std::to_string(id.value) + " has no pending outcome");
        }
        const bool sent = r->sent;
        fail(id.value, errc::cancelled, "cancel() was called");
        if (sent) lose_trust("request " + std::to_string(id.value) + " was cancelled after it was sent");
        release_held();
        return {};
    }

    void handle_timeout(time_point now) {
        std::optional<std::uint64_t> sent_and_lost;
        for (std::uint64_t id : pending.expired(now)) {
            const request* r = pending.find(id);
            if (r == nullptr) continue;
            if (r->sent && !r->expect_reply) {
                complete(id, no_reply{request_id{id}});
                continue;
            }
            if (r->sent && !sent_and_lost) sent_and_lost = id;
            fail(id, errc::timed_out, r->is_sync ? "no sync reply by the deadline" : "no reply by the deadline");
        }
        if (sent_and_lost) lose_trust("request " + std::to_string(*sent_and_lost) + " timed out");
        release_held();
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

client_state client::state() const noexcept { return impl_->state; }
bool client::is_open() const noexcept { return impl_->is_open(); }
const client_options& client::options() const noexcept { return impl_->options; }
std::uint64_t client::events_dropped() const noexcept { return impl_->events.dropped(); }
std::uint64_t client::violations() const noexcept { return impl_->violations; }
std::uint64_t client::discarded_messages() const noexcept { return impl_->discarded; }
std::size_t client::pending_requests() const noexcept { return impl_->pending.size(); }

tl::expected<void, error> client::receive(std::string_view bytes) {
    if (auto open = impl_->require_open(); !open) return open;
    impl& i = *impl_;
    return engine::feed_frames(
        i.framer, bytes, [&i] { return i.is_open(); }, [&i](std::string_view frame) { i.on_frame(frame); },
        [&i] { i.on_reset(); }, [&i](error e) { i.on_framing_error(std::move(e)); });
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

tl::expected<request_id, error> client::sync(std::uint64_t token, sync_options options) {
    return impl_->sync(token, options);
}

tl::expected<request_id, error> client::execute(std::string_view command, nlohmann::json arguments,
                                                exec_options options) {
    return impl_->execute(command, arguments, options);
}

tl::expected<void, error> client::cancel(request_id id) { return impl_->cancel(id); }

tl::expected<void, error> client::close() { return engine::close_session(*impl_); }

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

}  // namespace qwire::qga
