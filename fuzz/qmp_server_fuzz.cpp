// qmp::server (the fake QEMU) fed a client's bytes in pieces, answering the commands it hands
// out as the input says. Checks: everything it writes frames and parses as JSON objects of the
// shapes QEMU sends (greeting, return, error, event); every command it hands out ends exactly
// once (answered, or request_failed); disconnect is last and once; refused calls change nothing.
// One known exception to "parses as JSON", QEMU's own: an echoed id holding a number that
// overflows a double is written as QEMU writes it, `inf` or `-inf` (found by this fuzzer).
//
// Input: a flags byte (server options), a byte N (low 4 bits) and N steps of two bytes (piece
// size + 1, action), then the client's stream.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "qwire/qmp/server.hpp"

namespace {

using qwire::fuzz::input;
using qwire::qmp::server;
using json = nlohmann::json;

class server_checker {
public:
    explicit server_checker(qwire::qmp::server_options options) : server_(std::move(options)) {}

    server& get() noexcept { return server_; }
    const std::set<qwire::request_id>& open() const noexcept { return outcomes_.open(); }

    void answer(qwire::request_id id, std::uint8_t how) {
        const auto state = server_.state();
        const auto pending = server_.pending_commands();
        const auto r = (how & 1) ? server_.reply_error(id, "GenericError", std::string(1, static_cast<char>(how)))
                                 : server_.reply(id, json{{"n", how}});
        if (r) {
            outcomes_.ended(id);
        } else {
            FUZZ_CHECK(server_.state() == state);
            FUZZ_CHECK(server_.pending_commands() == pending);
        }
    }

    void write_output(std::size_t n) {
        const auto view = server_.pending_output();
        FUZZ_CHECK(view.fds.empty());
        const std::size_t written = std::min(n, view.bytes.size());
        if (written == 0) return;
        check_messages(view.bytes.substr(0, written));
        server_.consume_output(written);
    }

    void drain_events() {
        while (auto e = server_.next_event()) {
            outcomes_.event_pulled();
            if (const auto* c = std::get_if<qwire::qmp::command>(&*e)) {
                outcomes_.issued(c->id);
                FUZZ_CHECK(c->arguments.is_object());
                FUZZ_CHECK(!c->name.empty());
            } else if (const auto* f = std::get_if<qwire::request_failed>(&*e)) {
                outcomes_.ended(f->id);
            } else if (std::holds_alternative<qwire::disconnect>(*e)) {
                outcomes_.disconnected();
                FUZZ_CHECK(server_.state() == qwire::qmp::server_state::closed);
            }
        }
        FUZZ_CHECK(server_.pending_commands() == outcomes_.open().size());
    }

    void finish() {
        if (server_.is_open()) FUZZ_CHECK(server_.receive_eof().has_value());
        write_output(std::numeric_limits<std::size_t>::max());
        drain_events();
        outcomes_.check_finished();
        FUZZ_CHECK(!server_.next_event());
    }

private:
    // Frames what the client would read; each message must be one QEMU could send.
    void check_messages(std::string_view bytes) {
        copy_.assign(bytes);
        FUZZ_CHECK(framer_.feed(copy_).has_value());
        for (auto r = framer_.next(); r.status != qwire::frame_status::need_more; r = framer_.next()) {
            FUZZ_CHECK(r.status == qwire::frame_status::frame);
            auto m = json::parse(r.frame, nullptr, false);
            if (!m.is_object()) {
                const auto plain = non_finite_as_null(r.frame);
                FUZZ_CHECK(plain.has_value());
                m = json::parse(*plain, nullptr, false);
            }
            FUZZ_CHECK(m.is_object());
            FUZZ_CHECK(m.contains("QMP") || m.contains("return") || m.contains("event") ||
                       (m.contains("error") && m["error"].is_object() && m["error"].contains("class")));
        }
    }

    // The frame with QEMU's spellings of infinite numbers (outside strings) made null, or
    // nothing when it has none.
    static std::optional<std::string> non_finite_as_null(std::string_view frame) {
        std::string out;
        bool in_string = false;
        bool replaced = false;
        for (std::size_t i = 0; i < frame.size(); ++i) {
            const char c = frame[i];
            if (in_string) {
                out += c;
                if (c == '\\' && i + 1 < frame.size()) out += frame[++i];
                else if (c == '"') in_string = false;
            } else if (frame.substr(i).starts_with("inf") || frame.substr(i).starts_with("-inf")) {
                out += "null";
                i += frame[i] == '-' ? 3 : 2;
                replaced = true;
            } else {
                out += c;
                in_string = c == '"';
            }
        }
        if (!replaced) return std::nullopt;
        return out;
    }

    server server_;
    qwire::fuzz::outcomes outcomes_;
    qwire::json_framer framer_;
    std::string copy_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    input in(data, size);
    const std::uint8_t flags = in.byte();
    qwire::qmp::server_options options;
    options.pretty = (flags & 0x01) != 0;
    if (flags & 0x02) options.capabilities.clear();
    if (flags & 0x04) options.max_depth = 8;
    if (flags & 0x08) options.max_message_bytes = 256;
    if (flags & 0x10) options.max_input_backlog = 64;
    if (flags & 0x20) options.max_output_bytes = 512;
    if (flags & 0x40) options.max_undelivered_violations = 2;
    server_checker s(std::move(options));

    std::vector<std::pair<std::size_t, std::uint8_t>> steps;
    for (int n = in.byte() & 0x0f; n > 0; --n) {
        const std::size_t piece = std::size_t{in.byte()} + 1;
        steps.emplace_back(piece, in.byte());
    }
    if (steps.empty()) steps.emplace_back(std::numeric_limits<std::size_t>::max(), 0);
    std::string_view stream = in.rest();

    // Action bits: 0 answer the oldest open command (bit 1: with an error), 2 answer them all,
    // 3 emit an event, 4 write only a few bytes, 5 leave events waiting, 6 close, 7 EOF.
    for (std::size_t i = 0; !stream.empty() && s.get().is_open(); ++i) {
        const auto [piece_size, action] = steps[i % steps.size()];
        const auto piece = stream.substr(0, piece_size);
        const std::string copy(piece);
        const auto fed = s.get().receive(copy);
        if (fed) stream.remove_prefix(piece.size());
        else FUZZ_CHECK(fed.error().code() == qwire::errc::backlog_full && s.get().input_suspended());
        if ((action & 0x20) == 0) s.drain_events();
        if ((action & 0x01) && !s.open().empty()) s.answer(*s.open().begin(), action >> 1);
        if (action & 0x04)
            while (!s.open().empty()) s.answer(*s.open().begin(), action >> 1);
        if (action & 0x08) (void)s.get().emit_event("STOP", json{{"step", i}}, {static_cast<std::int64_t>(i), 0});
        s.write_output((action & 0x10) ? 7 : std::numeric_limits<std::size_t>::max());
        if (action & 0x40) FUZZ_CHECK(s.get().close().has_value());
        else if (action & 0x80) FUZZ_CHECK(s.get().receive_eof().has_value());
        // Unanswered commands and no room: answer everything so the stream can go on.
        // Answers and writes let the server read what it holds, which may give more commands
        // and more output; once all is answered and written, it must read again.
        while (!fed) {
            s.drain_events();
            while (!s.open().empty()) s.answer(*s.open().begin(), 0);
            s.write_output(std::numeric_limits<std::size_t>::max());
            s.drain_events();
            if (s.open().empty() && s.get().pending_output().bytes.empty()) {
                FUZZ_CHECK(!s.get().input_suspended());
                break;
            }
        }
    }
    s.finish();
    return 0;
}
