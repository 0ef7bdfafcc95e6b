// frame_dump: replays a recorded QEMU stream through qwire::json_framer and prints each frame.
//
//   frame_dump FILE.s2c [FILE.s2c ...]
//
// When FILE.chunks.json sits beside a file, the bytes are fed in the sizes QEMU's writes
// really arrived in; otherwise in 4 KiB reads.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qwire/framing/json_framer.hpp"

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

std::vector<std::size_t> read_sizes(const std::string& s2c_path, std::size_t total) {
    std::vector<std::size_t> sizes;
    const std::string suffix = ".s2c";
    if (s2c_path.size() > suffix.size() && s2c_path.ends_with(suffix)) {
        const auto text = read_file(s2c_path.substr(0, s2c_path.size() - suffix.size()) + ".chunks.json");
        const auto chunks = nlohmann::json::parse(text, nullptr, false);
        if (chunks.is_object() && chunks.contains("chunks")) {
            for (const auto& c : chunks["chunks"]) {
                if (c.is_array() && c.size() == 3 && c[0] == "s2c") sizes.push_back(c[2].get<std::size_t>());
            }
        }
    }
    if (sizes.empty()) {
        for (std::size_t at = 0; at < total; at += 4096) sizes.push_back(std::min<std::size_t>(4096, total - at));
    }
    return sizes;
}

// The first bytes of a frame, with CR, LF and other control bytes made visible.
std::string preview(std::string_view frame, std::size_t limit) {
    std::string out;
    for (unsigned char c : frame.substr(0, limit)) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c >= 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else out += static_cast<char>(c);
    }
    if (frame.size() > limit) out += "...";
    return out;
}

int dump(const std::string& path) {
    const std::string bytes = read_file(path);
    if (bytes.empty()) {
        std::fprintf(stderr, "frame_dump: %s: empty or unreadable\n", path.c_str());
        return 1;
    }
    std::printf("== %s (%zu bytes)\n", path.c_str(), bytes.size());
    qwire::json_framer framer;
    std::size_t offset = 0, frames = 0, read_no = 0;
    for (std::size_t size : read_sizes(path, bytes.size())) {
        if (offset >= bytes.size()) break;
        const std::string_view piece = std::string_view(bytes).substr(offset, size);
        offset += piece.size();
        std::printf("  read %zu: %zu bytes\n", ++read_no, piece.size());
        if (!framer.feed(piece)) return 1;
        for (auto r = framer.next(); r.status != qwire::frame_status::need_more; r = framer.next()) {
            if (r.status == qwire::frame_status::frame) {
                std::printf("    frame %zu: %7zu bytes  %s\n", ++frames, r.frame.size(), preview(r.frame, 64).c_str());
            } else if (r.status == qwire::frame_status::error) {
                std::printf("    error: %s\n", r.error->message().c_str());
            } else {
                std::printf("    reset\n");
            }
        }
    }
    std::printf("  %zu frames%s\n", frames, framer.in_frame() ? ", stream ends inside a frame" : "");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: frame_dump FILE.s2c [FILE.s2c ...]\n");
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; ++i) status |= dump(argv[i]);
    return status;
}
