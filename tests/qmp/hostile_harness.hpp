// Shared by the hostile-server tests of qwire::qmp::client (hostile_test.cpp and
// hostile_values_test.cpp): the usual start of a session, and check_fatal(), which runs a
// stream that must end the session at its last byte whole, byte by byte and at every split.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "qmp_harness.hpp"

namespace qwire::test::hostile {

namespace qmp = qwire::qmp;
using qwire::errc;
using strings = std::vector<std::string>;
using namespace std::string_literals;

inline std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) out += p;
    return out;
}

inline std::string disconnect(errc reason) { return "disconnect " + std::string(qwire::to_string(reason)); }

constexpr std::string_view reply0 = "{\"return\": {\"status\": \"running\"}, \"id\": 0}\r\n";
constexpr std::string_view stop_event =
    "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 123456}}\r\n";
inline const std::string reply0_seen = R"(reply 0 {"status":"running"})";
inline const std::string stop_seen = "event STOP null 1700000000.123456";
inline const std::string failed0 = "request_failed 0 connection_lost";
inline const std::string failed1 = "request_failed 1 connection_lost";
inline const std::string failed2 = "request_failed 2 connection_lost";
inline const std::string refused = "receive refused: invalid_state";

// Valid traffic that a server might send after the hostile bytes: never delivered after a fault.
constexpr std::string_view valid_tail =
    "{\"return\": {}, \"id\": 1}\r\n{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n";

// The usual start: three commands executed before the greeting (ids 0, 1, 2), the server greets
// offering OOB (so all three are sent at once), accepts the capabilities, answers command 0 and
// sends STOP. Hostile bytes after this leave requests 1 and 2 waiting.
inline const std::string head = cat({greeting_oob, caps_ok, reply0, stop_event});

inline scenario executing(std::vector<std::string> commands, qmp::client_options options = {}) {
    scenario s;
    s.options = std::move(options);
    s.before = [commands = std::move(commands)](qmp::client& c) {
        for (const auto& name : commands) REQUIRE(c.execute(name));
    };
    return s;
}

inline scenario three_commands(qmp::client_options options = {}) {
    return executing({"query-status", "query-name", "query-kvm"}, std::move(options));
}

// What the usual start followed by a fatal fault must produce.
inline strings usual_fatal(errc reason) {
    return {"greeting oob", "ready oob", reply0_seen, stop_seen, failed1, failed2, disconnect(reason)};
}

template <class T>
bool is_refused(const tl::expected<T, qwire::error>& r) {
    return !r && r.error().code() == errc::invalid_state;
}

// Checks a stream whose LAST byte must end the session (a fatal peer violation). Like
// scenario::check, it runs the stream whole, byte by byte and at every two-piece split, and each
// run must give exactly `expected`. Unlike it, runs may differ in what they wrote: output not yet
// written when the fault comes is discarded, so how much got out depends on the cut; each run
// must have written a prefix of what the byte-by-byte run wrote (it drains after every byte).
// After the input, the client must be closing, owe no outcome, have counted `violations`, refuse
// more input and want no write and no timer; what is wrong is added to the run's events.
// Then the valid bytes `tail` sent after the stream must be ignored in the same piece and
// refused in later pieces (fed byte by byte, exactly tail.size() pieces are refused: the
// session ended at the last byte of `stream`, not before and not after), never delivered.
inline void check_fatal(scenario s, const std::string& stream, const strings& expected, std::uint64_t violations = 1,
                 std::string_view tail = valid_tail) {
    using qwire::test::cut_every;
    using qwire::test::pieces;
    auto findings = std::make_shared<std::string>();
    s.after = [after = s.after, violations, findings](qmp::client& c) {
        after(c);
        const auto note = [&](bool ok, const char* what) {
            if (!ok) *findings += std::string(" ") + what + ";";
        };
        note(c.state() == qmp::client_state::closing, "not closing");
        note(c.pending_requests() == 0, "outcomes still owed");
        note(c.violations() == violations, ("violations() is " + std::to_string(c.violations())).c_str());
        note(is_refused(c.receive(valid_tail)), "receive() not refused with invalid_state");
        note(c.pending_output().bytes.empty(), "output pending");
        note(!c.next_deadline(), "a deadline is armed");
    };
    const std::string most = s.run(cut_every(stream, 1)).written;
    const auto events_of = [&s, &findings, &most](const pieces& p) {
        findings->clear();
        auto log = s.run(p);
        if (!findings->empty()) log.events.push_back("after the input:" + *findings);
        if (!most.starts_with(log.written)) log.events.push_back("wrote out of order: " + log.written);
        return log.events;
    };
    CHECK(events_of({stream}) == expected);
    qwire::test::check_every_split<strings>(stream, expected, events_of);

    const std::string joined = stream + std::string(tail);
    CHECK(events_of({joined}) == expected);
    strings later_piece{refused};
    later_piece.insert(later_piece.end(), expected.begin(), expected.end());
    CHECK(events_of({stream, tail}) == later_piece);
    strings byte_by_byte(tail.size(), refused);
    byte_by_byte.insert(byte_by_byte.end(), expected.begin(), expected.end());
    CHECK(events_of(cut_every(joined, 1)) == byte_by_byte);
}

// A hostile stream that follows the usual start and must end the session at its last byte.
struct hostile {
    const char* what;
    std::string bytes;
    errc reason;
};

inline void check_after_usual_start(const std::vector<hostile>& streams) {
    for (const hostile& h : streams) {
        DYNAMIC_SECTION(h.what) { check_fatal(three_commands(), head + h.bytes, usual_fatal(h.reason)); }
    }
}

// For streams the session survives: checks the violation count, then ends with EOF.
inline std::function<void(qmp::client&)> eof_expecting(std::uint64_t violations) {
    return [violations](qmp::client& c) {
        CHECK(c.violations() == violations);
        CHECK(c.is_open());
        REQUIRE(c.receive_eof());
    };
}

}  // namespace qwire::test::hostile
