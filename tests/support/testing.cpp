#include "testing.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef QWIRE_CORPUS_DIR
#error "the build defines QWIRE_CORPUS_DIR"
#endif

namespace qwire::test {

std::string corpus_dir() { return QWIRE_CORPUS_DIR; }

std::optional<std::string> corpus_file(const std::string& relative) {
    const auto path = std::filesystem::path(corpus_dir()) / relative;
    if (!std::filesystem::exists(path)) return std::nullopt;
    return read_file(path.string());
}

std::optional<std::string> corpus_schema_reply() {
    auto text = corpus_file("qmp/07_query_qmp_schema.s2c");
    if (!text) return std::nullopt;
    // The third line is the reply: greeting, capabilities reply, schema.
    std::size_t begin = 0;
    for (int line = 0; line < 2; ++line) begin = text->find("\r\n", begin) + 2;
    return text->substr(begin, text->find("\r\n", begin) - begin);
}

std::shared_ptr<const qmp::schema> corpus_schema() {
    auto reply = corpus_schema_reply();
    if (!reply) return nullptr;
    auto loaded = qmp::schema::parse(*reply);
    REQUIRE(loaded);
    return std::make_shared<const qmp::schema>(std::move(*loaded));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    INFO("reading " << path);
    REQUIRE(in.good());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

pieces cut_every(std::string_view input, std::size_t size) {
    pieces out;
    for (std::size_t at = 0; at < input.size(); at += size) out.push_back(input.substr(at, size));
    return out;
}

pieces cut_at(std::string_view input, std::size_t at) {
    return {input.substr(0, at), input.substr(at)};
}

pieces cut_sizes(std::string_view input, const std::vector<std::size_t>& sizes) {
    pieces out;
    for (std::size_t size : sizes) {
        if (input.empty()) break;
        out.push_back(input.substr(0, size));
        input.remove_prefix(out.back().size());
    }
    if (!input.empty()) out.push_back(input);
    return out;
}

}  // namespace qwire::test
