// Real QEMU 7.2 sessions from ../shared/corpus/qmp replayed into a client that sends the same
// commands. The expected events come from an independent reading of the recorded replies:
// by id through the commands' ids, id-less replies to id-less commands in order.
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "qmp_harness.hpp"
#include "qwire/framing/json_framer.hpp"

using json = nlohmann::json;
using qwire::test::pieces;
using qwire::test::session_log;
namespace qmp = qwire::qmp;

namespace {

std::vector<json> frames_of(std::string_view bytes) {
    qwire::json_framer framer;
    std::vector<json> out;
    REQUIRE(framer.feed(bytes));
    for (auto r = framer.next(); r.status == qwire::frame_status::frame; r = framer.next()) {
        out.push_back(json::parse(r.frame));
    }
    return out;
}

struct command {
    std::string name;
    json arguments;
    bool oob = false;
    std::optional<json> id;
};

struct replay {
    std::string s2c;
    std::size_t handshake_end = 0;  // offset just past the reply to qmp_capabilities
    std::string written;  // what the client must write: c2s without separators
    std::vector<command> commands;
    bool enable_oob = false;
    bool eof = false;
    std::vector<std::string> expected;
};

// The recorded client bytes without the newlines between commands.
std::string compact(std::string_view c2s) {
    qwire::json_framer framer;
    std::string out;
    REQUIRE(framer.feed(c2s));
    for (auto r = framer.next(); r.status == qwire::frame_status::frame; r = framer.next()) out += r.frame;
    return out;
}

// What a client must report for the recorded server bytes, worked out from the recording.
std::vector<std::string> expected_events(const replay& r) {
    std::vector<std::string> out;
    std::map<std::string, std::size_t> by_id;
    std::vector<std::size_t> anonymous;
    for (std::size_t i = 0; i < r.commands.size(); ++i) {
        if (r.commands[i].id) {
            by_id[r.commands[i].id->dump()] = i;
        } else {
            anonymous.push_back(i);
        }
    }
    std::size_t next_anonymous = 0;
    bool negotiated = false;
    for (const json& f : frames_of(r.s2c)) {
        if (f.contains("QMP")) {
            out.emplace_back("greeting oob");
        } else if (f.contains("event")) {
            const auto& ts = f["timestamp"];
            out.push_back("event " + f["event"].get<std::string>() + " " + f.value("data", json()).dump() + " " +
                          std::to_string(ts["seconds"].get<long>()) + "." + std::to_string(ts["microseconds"].get<long>()));
        } else if (!negotiated) {
            negotiated = true;
            out.emplace_back(r.enable_oob ? "ready oob" : "ready");
        } else {
            const std::size_t index = f.contains("id") ? by_id.at(f["id"].dump()) : anonymous.at(next_anonymous++);
            if (f.contains("return")) {
                out.push_back("reply " + std::to_string(index) + " " + f["return"].dump());
            } else {
                out.push_back("error_reply " + std::to_string(index) + " " + f["error"]["class"].get<std::string>() +
                              ": " + f["error"]["desc"].get<std::string>());
            }
        }
    }
    if (r.eof) out.emplace_back("disconnect peer_closed");
    return out;
}

// Where the reply to qmp_capabilities ends in a server stream.
std::size_t handshake_end(const std::string& s2c) {
    qwire::json_framer framer;
    REQUIRE(framer.feed(s2c));
    for (auto r = framer.next(); r.status == qwire::frame_status::frame; r = framer.next()) {
        if (r.frame.find("\"return\"") != std::string_view::npos && r.frame.find("\"QMP\"") == std::string_view::npos &&
            r.frame.find("\"event\"") == std::string_view::npos) {
            return static_cast<std::size_t>(r.frame.data() - s2c.data()) + r.frame.size();
        }
    }
    return s2c.size();  // the session ended before negotiation (01_greeting)
}

std::optional<replay> load(const std::string& name, bool eof) {
    auto s2c = qwire::test::corpus_file("qmp/" + name + ".s2c");
    auto c2s = qwire::test::corpus_file("qmp/" + name + ".c2s");
    if (!s2c || !c2s) return std::nullopt;
    replay r;
    r.s2c = *s2c;
    r.written = compact(*c2s);
    // The recorder sent nothing after the greeting; a client negotiates by itself.
    if (r.written.empty()) r.written = R"({"execute":"qmp_capabilities"})";
    r.eof = eof;
    const auto sent = frames_of(*c2s);
    if (!sent.empty()) r.enable_oob = sent[0].contains("arguments");
    for (std::size_t i = 1; i < sent.size(); ++i) {
        const json& f = sent[i];
        command c;
        c.oob = f.contains("exec-oob");
        c.name = f[c.oob ? "exec-oob" : "execute"].get<std::string>();
        c.arguments = f.value("arguments", json());
        if (f.contains("id")) c.id = f["id"];
        r.commands.push_back(std::move(c));
    }
    r.expected = expected_events(r);
    r.handshake_end = handshake_end(r.s2c);
    return r;
}

// Feeds the pieces; once the client is ready it executes every command, as an application
// waiting for `ready` would. Pieces are also cut where the handshake ends, since QEMU answers
// only commands it was sent.
session_log run(const replay& r, const pieces& uncut) {
    pieces input;
    std::size_t offset = 0;
    for (std::string_view piece : uncut) {
        if (offset < r.handshake_end && offset + piece.size() > r.handshake_end) {
            input.push_back(piece.substr(0, r.handshake_end - offset));
            input.push_back(piece.substr(r.handshake_end - offset));
        } else {
            input.push_back(piece);
        }
        offset += piece.size();
    }
    qmp::client_options options;
    options.enable_oob = r.enable_oob;
    qmp::client client(options);
    session_log log;
    bool issued = false;
    std::string scratch;
    for (std::string_view piece : input) {
        scratch.assign(piece);
        REQUIRE(client.receive(scratch));
        scratch.assign(scratch.size(), '#');
        log.written += qwire::test::drain_output(client);
        for (auto& e : qwire::test::drain_events(client)) log.events.push_back(std::move(e));
        if (client.is_ready() && !issued) {
            issued = true;
            for (const command& c : r.commands) {
                qmp::exec_options o;
                o.oob = c.oob;
                if (c.id) o.id = *c.id;
                o.send_id = c.id.has_value();
                REQUIRE(client.execute(c.name, c.arguments, o));
            }
            log.written += qwire::test::drain_output(client);
        }
    }
    if (r.eof) REQUIRE(client.receive_eof());
    for (auto& e : qwire::test::drain_events(client)) log.events.push_back(std::move(e));
    return log;
}

std::vector<std::size_t> recorded_reads(const std::string& name) {
    std::vector<std::size_t> sizes;
    const auto text = qwire::test::corpus_file("qmp/" + name + ".chunks.json");
    if (!text) return sizes;
    const json recording = json::parse(*text);
    for (const auto& chunk : recording.at("chunks")) {
        if (chunk.at(0) == "s2c") sizes.push_back(chunk.at(2).get<std::size_t>());
    }
    return sizes;
}

}  // namespace

TEST_CASE("qmp replay: every recorded session, whole, byte by byte, as recorded and at every split") {
    const auto manifest = qwire::test::corpus_file("qmp/manifest.json");
    if (!manifest) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    std::size_t replayed = 0;
    for (const auto& entry : json::parse(*manifest)) {
        const auto name = entry.at("name").get<std::string>();
        if (name == "12_oob_interleave") continue;  // sends what a client cannot: see below
        INFO("scenario " << name);
        const auto r = load(name, entry.at("eof").get<bool>());
        REQUIRE(r);
        const session_log whole = run(*r, {r->s2c});
        CHECK(whole.events == r->expected);
        CHECK(whole.written == r->written);
        const auto reads = recorded_reads(name);
        if (!reads.empty()) CHECK(run(*r, qwire::test::cut_sizes(r->s2c, reads)) == whole);
        qwire::test::check_every_split<session_log>(r->s2c, whole, [&](const pieces& p) { return run(*r, p); },
                                                    r->s2c.size() > 20000 ? 64 : 4096);
        // The same session as `-mon ...,pretty=on` would send it gives the same events.
        replay pretty = *r;
        pretty.s2c.clear();
        for (const json& f : frames_of(r->s2c)) {
            std::string text = f.dump(4);
            for (auto at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2)) text.insert(at, 1, '\r');
            pretty.s2c += text + "\r\n";
        }
        pretty.handshake_end = handshake_end(pretty.s2c);
        CHECK(run(pretty, qwire::test::cut_every(pretty.s2c, 1000)).events == whole.events);
        ++replayed;
    }
    CHECK(replayed == 15);
}

TEST_CASE("qmp replay: the pipeline of 1000 query-status with automatic ids") {
    auto r = load("17_pipeline_1000", false);
    if (!r) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    for (auto& c : r->commands) c.id.reset();  // the recording's ids 0..999 are the automatic ones
    qmp::client client;
    REQUIRE(client.receive(r->s2c.substr(0, 158)));  // greeting and caps reply
    REQUIRE(client.is_ready());
    for (const auto& c : r->commands) REQUIRE(client.execute(c.name));
    REQUIRE(client.receive(r->s2c.substr(158)));
    auto events = qwire::test::drain_events(client);
    REQUIRE(events.size() == 1002);
    for (std::size_t i = 0; i < 1000; ++i) CHECK(events[i + 2].rfind("reply " + std::to_string(i) + " ", 0) == 0);
    CHECK(client.pending_requests() == 0);
}

TEST_CASE("qmp replay: OOB replies overtake queued in-band ones (12_oob_interleave)") {
    auto r = load("12_oob_interleave", false);
    if (!r) QWIRE_SKIP("no corpus at " + qwire::test::corpus_dir());
    // The recording also sends an exec-oob without an id and a command naming both execute and
    // exec-oob; a client refuses to send either. Keep the commands a client can send.
    std::vector<command> sendable;
    for (auto& c : r->commands) {
        if (c.id && *c.id != "both") sendable.push_back(c);
    }
    r->commands = sendable;
    REQUIRE(r->commands.size() == 6);

    SECTION("the recording as is: an id-less reply while several requests wait is fatal") {
        const session_log log = run(*r, {r->s2c});
        const std::vector<std::string> expected = {
            "greeting oob", "ready oob", "reply 1 {}", R"(reply 3 [{"id":"mon","type":"chardev"}])",
            "error_reply 4 GenericError: The command query-status does not support OOB",
            "request_failed 0 connection_lost", "request_failed 2 connection_lost",
            "request_failed 5 connection_lost", "disconnect unexpected_message"};
        CHECK(log.events == expected);
    }
    SECTION("without the replies to what was not sent, every request completes, OOB first") {
        std::string s2c;
        for (const json& f : frames_of(r->s2c)) {
            const bool unsent = (f.contains("return") && !f.contains("id") && f["return"].is_array()) ||
                                f.value("id", json()) == "both";
            if (!unsent) s2c += f.dump() + "\r\n";
        }
        r->s2c = s2c;
        r->expected = expected_events(*r);
        r->handshake_end = handshake_end(r->s2c);
        const session_log whole = run(*r, {r->s2c});
        CHECK(whole.events == r->expected);
        REQUIRE(whole.events.size() == 8);
        CHECK(whole.events[2] == "reply 1 {}");  // oob-1 answered before normal-1 (request 0)
        CHECK(whole.events[5].rfind("reply 0 ", 0) == 0);
        qwire::test::check_every_split<session_log>(r->s2c, whole, [&](const pieces& p) { return run(*r, p); }, 64);
    }
}
