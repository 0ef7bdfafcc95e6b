// Shared by the fuzz harnesses: reading the fuzz input, invariant checks that fail loudly, and
// the bookkeeping every client harness needs (each request ends exactly once, the disconnect
// comes last and once, output is always well-formed JSON).
//
// A failed invariant prints what broke and aborts: libFuzzer saves the input as a crash, and
// the replay program (replay_main.cpp) reports the seed as failed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "qwire/framing/json_framer.hpp"
#include "qwire/session.hpp"

namespace qwire::fuzz {

[[noreturn]] void invariant_failed(const char* what, const char* file, int line);

#define FUZZ_CHECK(condition) \
    ((condition) ? static_cast<void>(0) : ::qwire::fuzz::invariant_failed(#condition, __FILE__, __LINE__))

/// Reads the fuzz input front to back; past the end every read gives zeros or nothing.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) : bytes_(reinterpret_cast<const char*>(data), size) {}

    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
    std::uint8_t byte();
    std::uint16_t u16();
    std::uint64_t u64();
    /// Up to n bytes.
    std::string_view take(std::size_t n);
    /// A string of up to max bytes, its length from the next byte.
    std::string_view short_string(std::size_t max = 32) { return take(byte() % (max + 1)); }
    /// Everything left.
    std::string_view rest();

private:
    std::string_view bytes_;
};

/// Tracks the requests of one session against the rules every client promises: each id it
/// handed out ends exactly once, and the disconnect is the last event and comes once.
class outcomes {
public:
    void issued(request_id id);
    /// An outcome event for `id` (reply, error reply, no_reply, synced, request_failed).
    void ended(request_id id);
    /// Any event was pulled: nothing may follow the disconnect.
    void event_pulled();
    void disconnected();
    [[nodiscard]] bool has_disconnected() const noexcept { return disconnected_; }
    /// Requests issued whose outcome has not been pulled, oldest first.
    [[nodiscard]] const std::set<request_id>& open() const noexcept { return open_; }
    /// At the end of a session: everything ended and the disconnect came.
    void check_finished() const;

private:
    std::set<request_id> open_;
    std::set<request_id> ended_;
    bool disconnected_ = false;
};

/// Frames the bytes a peer would read and checks that each message parses as a JSON object.
/// With a reset byte (the guest agent's 0xFF), the byte is allowed between messages.
class json_stream_checker {
public:
    explicit json_stream_checker(json_framer_options options = {});
    /// Bytes the peer read; complete messages are checked at once. Returns the messages seen.
    std::size_t add(std::string_view bytes);

private:
    json_framer framer_;
    std::string copy_;
};

}  // namespace qwire::fuzz
