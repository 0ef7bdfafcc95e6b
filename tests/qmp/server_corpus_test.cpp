// The server against the recordings: fed what a client sent to QEMU 7.2 (NAME.c2s) and
// answering each command with the reply QEMU gave (emitting the events QEMU sent before it),
// the server must write exactly the bytes QEMU wrote (NAME.s2c): greeting, errors it makes
// itself, replies and events re-encoded with QEMU's formatting and member order. Each scenario
// runs without a schema and with the recorded one, whole, byte by byte and at every split.
#include <deque>
#include <map>

#include "qwire/framing/json_framer.hpp"
#include "server_harness.hpp"

namespace qwire::test {
namespace {

using json = nlohmann::json;

std::vector<json> messages_of(const std::string& s2c) {
    json_framer framer;
    REQUIRE(framer.feed(s2c));
    std::vector<json> out;
    for (auto r = framer.next(); r.status != frame_status::need_more; r = framer.next()) {
        REQUIRE(r.status == frame_status::frame);
        out.push_back(json::parse(r.frame));
    }
    return out;
}

// An application that answers as QEMU did in a recording: at once, or, for in-band commands
// when `slow_in_band` (QEMU was busy with one), when the server stops reading or the input ends.
class recorded_app {
public:
    recorded_app(const std::string& s2c, bool slow_in_band) : messages_(messages_of(s2c)), slow_(slow_in_band) {
        // messages_[0] is the greeting, [1] the capabilities reply (the server makes both).
        for (std::size_t i = 2; i < messages_.size(); ++i) {
            const json& m = messages_[i];
            if (!m.contains("return") && !m.contains("error")) continue;
            if (m.contains("id")) {
                by_id_[m["id"].dump()] = i;
            } else {
                anonymous_.push_back(i);
            }
        }
    }

    void reset() {
        emitted_ = 0;
        held_.clear();
        anonymous_left_ = anonymous_;
    }

    responder respond() {
        return [this](qmp::server& s, const qmp::command& c) {
            if (c.oob || !slow_) return answer(s, c);
            held_.push_back(c);
        };
    }

    std::function<void(qmp::server&, bool)> idle() {
        return [this](qmp::server& s, bool done) {
            while (!held_.empty() && (done || s.input_suspended())) {
                const qmp::command c = held_.front();
                held_.pop_front();
                answer(s, c);
            }
            if (done && held_.empty()) emit_events_before(s, messages_.size());
        };
    }

private:
    void emit_events_before(qmp::server& s, std::size_t end) {
        for (; emitted_ < end; ++emitted_) {
            const json& m = messages_[emitted_];
            if (!m.contains("event")) continue;
            const qmp::timestamp when{m["timestamp"]["seconds"].get<std::int64_t>(),
                                      m["timestamp"]["microseconds"].get<std::int64_t>()};
            REQUIRE(s.emit_event(m["event"].get<std::string>(), m.value("data", json()), when));
        }
    }

    void answer(qmp::server& s, const qmp::command& c) {
        std::size_t i = 0;
        if (c.wire_id) {
            auto it = by_id_.find(c.wire_id->dump());
            INFO("a reply for id " << c.wire_id->dump());
            REQUIRE(it != by_id_.end());
            i = it->second;
        } else {
            REQUIRE_FALSE(anonymous_left_.empty());
            i = anonymous_left_.front();
            anonymous_left_.pop_front();
        }
        emit_events_before(s, i);
        const json& m = messages_[i];
        if (m.contains("return")) {
            REQUIRE(s.reply(c.id, m["return"]));
        } else {
            REQUIRE(s.reply_error(c.id, m["error"]["class"].get<std::string>(), m["error"]["desc"].get<std::string>()));
        }
    }

    std::vector<json> messages_;
    std::map<std::string, std::size_t> by_id_;
    std::deque<std::size_t> anonymous_;
    std::deque<std::size_t> anonymous_left_;
    std::deque<qmp::command> held_;
    std::size_t emitted_ = 0;
    bool slow_;
};

void replay(const std::string& name, bool pretty, std::size_t all_splits_up_to = 4096, bool slow_in_band = false) {
    const auto c2s = corpus_file("qmp/" + name + ".c2s");
    const auto s2c = corpus_file("qmp/" + name + ".s2c");
    if (!c2s || !s2c) QWIRE_SKIP("the corpus is missing");
    for (const bool with_schema : {false, true}) {
        INFO(name << (with_schema ? " with the recorded schema" : " without a schema"));
        auto app = std::make_shared<recorded_app>(*s2c, slow_in_band);
        server_scenario s;
        s.options.pretty = pretty;
        if (with_schema) s.options.schema = corpus_schema();
        s.respond = app->respond();
        s.idle = app->idle();
        auto run = [s, app](const pieces& p) {
            app->reset();
            return s.run(p);
        };
        const server_log whole = run({*c2s});
        CHECK(whole.written == *s2c);
        check_every_split<server_log>(*c2s, whole, run, all_splits_up_to);
    }
}

}  // namespace

TEST_CASE("qmp server replays the corpus: negotiation") {
    replay("02_caps_plain", false);
    replay("03_caps_oob", false);
}

TEST_CASE("qmp server replays the corpus: queries") {
    replay("04_query_status", false);
    replay("05_query_version", false);
    replay("06_query_commands", false, 256);
}

TEST_CASE("qmp server replays the corpus: the 207 KB schema reply") { replay("07_query_qmp_schema", false, 32); }

TEST_CASE("qmp server replays the corpus: unknown commands and bad arguments") {
    replay("08_unknown_command", false);
    replay("09_bad_arguments", false);
}

TEST_CASE("qmp server replays the corpus: OOB overtaking in-band commands") { replay("12_oob_interleave", false, 96, true); }

TEST_CASE("qmp server replays the corpus: events before replies") {
    replay("16_stop_cont_machine_none", false);
    replay("39_quit_machine_none", false);
    replay("40_events_pc", false);
}

TEST_CASE("qmp server replays the corpus: 1000 pipelined commands") { replay("17_pipeline_1000", false, 32); }

TEST_CASE("qmp server replays the corpus: a storage daemon session") { replay("50_qsd_session", false); }

TEST_CASE("qmp server replays the corpus: pretty output") { replay("60_pretty_session", true); }

}  // namespace qwire::test
