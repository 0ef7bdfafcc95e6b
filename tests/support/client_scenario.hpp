// What every protocol harness needs from a sans-I/O peer: its output drained, its events
// described one line each, and scenarios that feed a client its input in pieces (whole, byte
// by byte and at every two-piece split) and must give the same log each time.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "testing.hpp"

namespace qwire::test {

/// Lambdas combined into one visitor, for std::visit.
template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

/// Writes everything a client or server wants to write; returns it.
template <class Peer>
std::string drain_output(Peer& peer) {
    std::string out;
    for (auto view = peer.pending_output(); !view.bytes.empty(); view = peer.pending_output()) {
        out += view.bytes;
        peer.consume_output(view.bytes.size());
    }
    return out;
}

/// Pulls every waiting event of a client or server, each described by `describe`.
template <class Peer, class Describe>
std::vector<std::string> drain_described(Peer& peer, Describe&& describe) {
    std::vector<std::string> out;
    while (auto e = peer.next_event()) out.push_back(describe(*e));
    return out;
}

/// What a scenario produced: every event described, and every byte the client wrote.
struct session_log {
    std::vector<std::string> events;
    std::string written;
    friend bool operator==(const session_log&, const session_log&) = default;
};

inline std::ostream& operator<<(std::ostream& out, const session_log& log) {
    out << "events:\n";
    for (const auto& e : log.events) out << "  " << e << "\n";
    return out << "written:\n" << log.written;
}

/// A scenario: make a client, run `before` on it (e.g. send commands), feed the pieces (writing
/// all output after each), then run `after` (e.g. receive_eof), collecting the log. `Drain`
/// pulls and describes the client's events (its harness's drain_events).
template <class Client, std::vector<std::string> (*Drain)(Client&)>
struct client_scenario {
    std::remove_cvref_t<decltype(std::declval<const Client&>().options())> options;
    std::function<void(Client&)> before = [](Client&) {};
    std::function<void(Client&)> after = [](Client&) {};

    session_log run(const pieces& input) const {
        Client client(options);
        session_log log;
        before(client);
        log.written += drain_output(client);
        std::string scratch;
        for (std::string_view piece : input) {
            scratch.assign(piece);
            const auto fed = client.receive(scratch);
            if (!fed) log.events.push_back("receive refused: " + std::string(to_string(fed.error().code())));
            scratch.assign(scratch.size(), '#');  // the client must not keep views into fed bytes
            log.written += drain_output(client);
        }
        after(client);
        log.written += drain_output(client);
        auto events = Drain(client);
        log.events.insert(log.events.end(), events.begin(), events.end());
        return log;
    }

    /// Runs it on the whole input, byte by byte and at every two-piece split; checks that the
    /// whole run gives `expected` events and every run the same log. Returns the whole run's.
    session_log check(std::string_view input, const std::vector<std::string>& expected,
                      std::size_t all_splits_up_to = 4096) const {
        const session_log whole = run({input});
        CHECK(whole.events == expected);
        check_every_split<session_log>(input, whole, [this](const pieces& p) { return run(p); }, all_splits_up_to);
        return whole;
    }
};

}  // namespace qwire::test
