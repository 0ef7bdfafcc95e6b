// tools/qwire/recorder.hpp — writes one session's bytes in the corpus format of
// ../shared/corpus: NAME.s2c (server to client), NAME.c2s (client to server) and
// NAME.chunks.json ({"eof": …, "chunks": [[direction, seconds, length], …]}), so a recorded
// session replays through qwire::qmp::client as the corpus does, with the chunk sizes it had.
#pragma once

#include <chrono>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qwire::tool {

class session_recorder {
public:
    /// Opens DIR/NAME.s2c and DIR/NAME.c2s; the chunks file is written by finish().
    session_recorder(const std::string& dir, const std::string& name);
    session_recorder(const session_recorder&) = delete;
    session_recorder& operator=(const session_recorder&) = delete;
    ~session_recorder();
    [[nodiscard]] bool ok() const { return s2c_.good() && c2s_.good(); }
    void server_to_client(std::string_view bytes) { chunk("s2c", s2c_, bytes); }
    void client_to_server(std::string_view bytes) { chunk("c2s", c2s_, bytes); }
    /// Writes NAME.chunks.json; `server_closed` is its "eof". Called by the destructor if not before.
    void finish(bool server_closed);

private:
    void chunk(const char* direction, std::ofstream& out, std::string_view bytes);
    std::string base_;
    std::ofstream s2c_, c2s_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    nlohmann::json chunks_ = nlohmann::json::array();
    bool finished_ = false;
};

}  // namespace qwire::tool
