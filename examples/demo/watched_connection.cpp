#include "watched_connection.hpp"

#include <type_traits>
#include <variant>

#include "narration.hpp"

namespace demo {

namespace epoll = qwire::epoll;
namespace qmp = qwire::qmp;

watched_connection::watched_connection(epoll::loop& loop, const std::string& path) : loop_(&loop) {
    conn_ = must(epoll::qmp_connection::connect(loop, must(epoll::endpoint::parse(path), "socket path"), {},
                                                [this](epoll::qmp_connection&, qmp::client_event& e) { on_event(e); }),
                 "connecting to " + path);
}

qwire::request_id watched_connection::send(const std::string& command, nlohmann::json arguments,
                                           qmp::exec_options options) {
    if (narrate_) {
        std::string line = "→ " + command;
        if (!arguments.is_null()) {
            line += ' ';
            line += brief(arguments);
        }
        if (options.oob) line += "   (exec-oob: out of band)";
        say(line);
    }
    const bool oob = options.oob;
    const auto id = must(conn_->execute(command, std::move(arguments), std::move(options)), "sending " + command);
    since_ = epoll::loop::now();
    sent_[id.value] = sent{command + (oob ? " (OOB)" : ""), since_};
    return id;
}

void watched_connection::forget() {
    arrivals_.clear();
    order_.clear();
    since_ = epoll::loop::now();
}

void watched_connection::on_event(qmp::client_event& e) {
    const auto complete = [&](qwire::request_id id, const std::string& prefix, const std::string& detail) {
        ++completed_;
        order_.push_back(id);
        const auto it = sent_.find(id.value);
        record(prefix + (it != sent_.end() ? it->second.name : "request " + std::to_string(id.value)), id, detail);
        if (it != sent_.end()) sent_.erase(it);
    };
    std::visit(
        [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, qmp::greeting>) {
                record("greeting", std::nullopt, "capabilities " + nlohmann::json(x.capabilities).dump());
            } else if constexpr (std::is_same_v<T, qmp::ready>) {
                record("ready", std::nullopt, x.oob_enabled ? "OOB enabled" : "OOB not offered");
            } else if constexpr (std::is_same_v<T, qmp::reply>) {
                complete(x.id, "reply to ", brief(x.value, 48));
            } else if constexpr (std::is_same_v<T, qmp::error_reply>) {
                complete(x.id, "error reply to ", x.error_class + ": " + x.desc);
            } else if constexpr (std::is_same_v<T, qmp::event>) {
                record("event " + x.name, std::nullopt, x.data.is_null() ? "" : brief(x.data, 48));
            } else if constexpr (std::is_same_v<T, qmp::no_reply>) {
                complete(x.id, "no reply, as expected, to ", "");
            } else if constexpr (std::is_same_v<T, qwire::request_failed>) {
                failures_.push_back(x.error);
                complete(x.id, "failure of ", describe(x.error));
            } else if constexpr (std::is_same_v<T, qwire::protocol_violation>) {
                violations_.push_back(x.error);
                record("protocol_violation", std::nullopt, describe(x.error));
            } else if constexpr (std::is_same_v<T, qwire::disconnect>) {
                ended_ = x.reason;
                record("disconnect", std::nullopt, describe(x.reason));
            }
        },
        e);
}

void watched_connection::record(std::string what, std::optional<qwire::request_id> id, const std::string& detail) {
    if (!narrate_) return;
    const auto it = id ? sent_.find(id->value) : sent_.end();
    const auto after = epoll::loop::now() - (it != sent_.end() ? it->second.at : since_);
    char line[80];
    std::snprintf(line, sizeof line, "← %-26s after %8s", what.c_str(), took(after).c_str());
    say(std::string(line) + (detail.empty() ? "" : "   " + detail));
    arrivals_.push_back(arrival{std::move(what), id, after});
}

}  // namespace demo
