// qmp::client fed a server's byte stream in pieces, with commands executed between the pieces;
// the checks are qmp_client_checker's. The seeds are QEMU's recorded streams
// (../shared/corpus/qmp/*.s2c) behind a small header.
//
// With flag 0x80 it also checks that the pieces do not matter: N commands executed up front,
// then the stream fed whole or in the pieces, give the same events and the same output (up to
// where the session ended).
//
// Input: a flags byte (client options), a byte N (low 5 bits) and N steps of two bytes, then
// the stream. Step i % N feeds the next piece: its size byte (0xff: the rest; 0x80 and above:
// (low 7 bits) * 64 + 1; else size + 1), then its action byte (see act()).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "client_checker.hpp"
#include "qwire/qmp/client.hpp"

namespace {

using qmp_client_checker = qwire::fuzz::client_checker<qwire::qmp::client, qwire::qmp::event>;

// The client's output must be QMP commands: JSON objects, one after another.
qmp_client_checker::output_check json_objects() {
    return [checker = std::make_shared<qwire::fuzz::json_stream_checker>()](std::string_view bytes) {
        checker->add(bytes);
    };
}
using json = nlohmann::json;

constexpr std::string_view commands[] = {"query-status", "query-version", "stop", "cont", "qmp_capabilities",
                                         "query-yank"};

qwire::qmp::client_options options_from(std::uint8_t flags) {
    qwire::qmp::client_options o;
    o.enable_oob = (flags & 0x01) == 0;
    if (flags & 0x02) o.on_event_overflow = qwire::overflow_policy::drop_newest;
    constexpr std::size_t event_bounds[] = {10000, 1, 3, 16};
    o.max_undelivered_events = event_bounds[(flags >> 2) & 0x03];
    if (flags & 0x10) o.max_frame_bytes = 4096;
    if (flags & 0x20) o.max_depth = 8;
    if (flags & 0x40) o.max_queued_commands = 4;
    return o;
}

std::size_t piece_size(std::uint8_t code) {
    if (code == 0xff) return std::numeric_limits<std::size_t>::max();
    if (code >= 0x80) return std::size_t{code & 0x7fu} * 64 + 1;
    return std::size_t{code} + 1;
}

// Bits 0-2: 0-2 nothing, 3 execute, 4 execute with a string id, 5 execute fire-and-forget,
// 6 cancel the oldest open request, 7 execute with arguments. Bit 3: OOB. Bits 4-5: which
// command. Bit 6: write only one byte of output this step. Bit 7: leave events waiting.
void act(qmp_client_checker& c, std::uint8_t action, std::uint8_t size_code) {
    qwire::qmp::exec_options o;
    o.oob = (action & 0x08) != 0;
    const std::string_view command = commands[((action >> 4) & 0x03) + (size_code & 0x01) * 2];
    switch (action & 0x07) {
    case 3: c.issue([&] { return c.client().execute(command, nullptr, o); }); break;
    case 4:
        o.id = json("id-" + std::to_string(size_code));
        c.issue([&] { return c.client().execute(command, nullptr, o); });
        break;
    case 5:
        o.expect_reply = false;
        c.issue([&] { return c.client().execute(command, nullptr, o); });
        break;
    case 6:
        if (!c.open_requests().empty()) c.cancel(*c.open_requests().begin());
        break;
    case 7:
        c.issue([&] {
            const json arguments = {{"size", size_code}, {"name", std::string(1, static_cast<char>(action))}};
            return c.client().execute(command, arguments, o);
        });
        break;
    default: break;
    }
}

// Executes `commands_first` commands, feeds `pieces` (writing all output after each), then EOF;
// returns every event and every byte written.
std::pair<std::vector<qwire::qmp::client_event>, std::string> run_in_pieces(const qwire::qmp::client_options& options,
                                                                          std::size_t commands_first,
                                                                          const std::vector<std::string_view>& pieces) {
    qwire::qmp::client client(options);
    for (std::size_t i = 0; i < commands_first; ++i) (void)client.execute(commands[i % std::size(commands)]);
    std::pair<std::vector<qwire::qmp::client_event>, std::string> out;
    const auto write_all = [&] {
        const auto view = client.pending_output();
        out.second += view.bytes;
        client.consume_output(view.bytes.size());
    };
    for (std::string_view piece : pieces) {
        const std::string copy(piece);
        (void)client.receive(copy);
        write_all();
    }
    (void)client.receive_eof();
    while (auto e = client.next_event()) out.first.push_back(std::move(*e));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    qwire::fuzz::input in(data, size);
    const std::uint8_t flags = in.byte();
    const auto options = options_from(flags);
    qmp_client_checker c(options, json_objects());
    std::vector<std::pair<std::uint8_t, std::uint8_t>> steps;
    for (int n = in.byte() & 0x1f; n > 0; --n) {
        const std::uint8_t size_code = in.byte();
        steps.emplace_back(size_code, in.byte());
    }
    if (steps.empty()) steps.emplace_back(0xff, 0);
    std::string_view stream = in.rest();

    if (flags & 0x80) {
        std::vector<std::string_view> pieces;
        for (std::size_t at = 0, k = 0; at < stream.size(); ++k) {
            pieces.push_back(stream.substr(at, piece_size(steps[k % steps.size()].first)));
            at += pieces.back().size();
        }
        const auto split = run_in_pieces(options, steps.size(), pieces);
        const auto whole = run_in_pieces(options, steps.size(), {stream});
        FUZZ_CHECK(qwire::fuzz::same_events(split.first, whole.first));
        // Output not yet written when the session ends is discarded, so how much got out depends
        // on the pieces; what did get out is the same.
        FUZZ_CHECK(split.second.starts_with(whole.second) || whole.second.starts_with(split.second));
    }

    for (std::size_t i = 0; !stream.empty(); ++i) {
        const auto [size_code, action] = steps[i % steps.size()];
        act(c, action, size_code);
        const auto piece = stream.substr(0, piece_size(size_code));
        stream.remove_prefix(piece.size());
        if (c.client().is_open()) c.receive(piece);
        c.write_output((action & 0x40) ? 1 : std::numeric_limits<std::size_t>::max());
        if ((action & 0x80) == 0) c.drain_events();
    }
    c.finish();
    return 0;
}
