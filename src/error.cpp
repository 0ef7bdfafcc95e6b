#include "qwire/error.hpp"

#include <utility>

namespace qwire {
namespace {

const char* describe(errc code) noexcept {
    switch (code) {
        case errc::invalid_state: return "call not allowed in the current state";
        case errc::invalid_argument: return "invalid argument";
        case errc::queue_full: return "command queue is full";
        case errc::backlog_full: return "output backlog is full";
        case errc::unknown_request: return "no pending request has that id";
        case errc::not_supported: return "not supported by this session";
        case errc::frame_too_large: return "frame exceeds the size limit";
        case errc::nesting_too_deep: return "JSON nesting exceeds the depth limit";
        case errc::malformed_json: return "malformed JSON";
        case errc::invalid_utf8: return "invalid UTF-8";
        case errc::unexpected_message: return "unexpected message from the peer";
        case errc::unknown_reply_id: return "reply with an unknown id";
        case errc::command_failed: return "the command failed";
        case errc::connection_lost: return "connection lost";
        case errc::timed_out: return "timed out";
        case errc::cancelled: return "cancelled";
        case errc::handshake_timed_out: return "handshake timed out";
        case errc::closed: return "closed locally";
        case errc::peer_closed: return "the peer closed the connection";
    }
    return "unknown qwire error";
}

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "qwire"; }
    std::string message(int value) const override { return describe(static_cast<errc>(value)); }
};

}  // namespace

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::invalid_state: return "invalid_state";
        case errc::invalid_argument: return "invalid_argument";
        case errc::queue_full: return "queue_full";
        case errc::backlog_full: return "backlog_full";
        case errc::unknown_request: return "unknown_request";
        case errc::not_supported: return "not_supported";
        case errc::frame_too_large: return "frame_too_large";
        case errc::nesting_too_deep: return "nesting_too_deep";
        case errc::malformed_json: return "malformed_json";
        case errc::invalid_utf8: return "invalid_utf8";
        case errc::unexpected_message: return "unexpected_message";
        case errc::unknown_reply_id: return "unknown_reply_id";
        case errc::command_failed: return "command_failed";
        case errc::connection_lost: return "connection_lost";
        case errc::timed_out: return "timed_out";
        case errc::cancelled: return "cancelled";
        case errc::handshake_timed_out: return "handshake_timed_out";
        case errc::closed: return "closed";
        case errc::peer_closed: return "peer_closed";
    }
    return "unknown";
}

error_source source_of(errc code) noexcept {
    const int value = static_cast<int>(code);
    if (value < 100) return error_source::caller;
    if (value < 200) return error_source::peer;
    return error_source::transport;
}

bool is_fatal(errc code) noexcept {
    switch (code) {
        case errc::frame_too_large:
        case errc::nesting_too_deep:
        case errc::malformed_json:
        case errc::invalid_utf8:
        case errc::unexpected_message:
        case errc::connection_lost:
        case errc::handshake_timed_out:
        case errc::closed:
        case errc::peer_closed: return true;
        default: return false;
    }
}

bool is_retryable(errc code) noexcept {
    switch (code) {
        case errc::queue_full:
        case errc::backlog_full:
        case errc::connection_lost:
        case errc::timed_out:
        case errc::handshake_timed_out:
        case errc::peer_closed: return true;
        default: return false;
    }
}

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

std::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), error_category()};
}

error::error(errc code, std::string detail, std::error_code cause)
    : code_(code), detail_(std::move(detail)), cause_(cause) {}

error error::from_reply(std::string error_class, std::string desc) {
    error e(errc::command_failed, std::move(desc));
    e.error_class_ = std::move(error_class);
    return e;
}

std::string error::message() const {
    std::string text = describe(code_);
    if (!error_class_.empty()) text += ": " + error_class_;
    if (!detail_.empty()) text += ": " + detail_;
    if (cause_) text += " (cause: " + cause_.message() + ")";
    return text;
}

}  // namespace qwire
