// Recording a session in the corpus format; see recorder.hpp.
#include "recorder.hpp"

#include <cmath>

namespace qwire::tool {

session_recorder::session_recorder(const std::string& dir, const std::string& name)
    : base_(dir + "/" + name), s2c_(base_ + ".s2c", std::ios::binary), c2s_(base_ + ".c2s", std::ios::binary) {}

session_recorder::~session_recorder() { finish(false); }

void session_recorder::chunk(const char* direction, std::ofstream& out, std::string_view bytes) {
    if (bytes.empty() || finished_) return;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    chunks_.push_back({direction, std::round(seconds * 1e6) / 1e6, bytes.size()});
}

void session_recorder::finish(bool server_closed) {
    if (finished_) return;
    finished_ = true;
    std::ofstream(base_ + ".chunks.json") << nlohmann::json{{"eof", server_closed}, {"chunks", chunks_}}.dump() << '\n';
}

}  // namespace qwire::tool
