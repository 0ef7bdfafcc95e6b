// A main() for any compiler: feeds every file of the given corpus folders to the harness's
// LLVMFuzzerTestOneInput, so the seed corpora are a regression suite with g++ too.
//
//     replay_TARGET NAME DIR...
//
// It appends one line to $QWIRE_RESULTS_FILE for `./run test`: "NAME\tpassed\tN inputs" when
// every file ran and every invariant held, "NAME\tfailed\t…" otherwise. A broken invariant or
// a sanitizer report aborts; the line naming the input that did it is written from the signal
// handler before the program dies.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int results_fd = -1;
std::string failed_line;  // for the input being replayed, written if it kills the program

void write_all(int fd, const std::string& text) {
    for (std::size_t at = 0; at < text.size();) {
        const auto n = ::write(fd, text.data() + at, text.size() - at);
        if (n <= 0) return;
        at += static_cast<std::size_t>(n);
    }
}

extern "C" void on_fatal_signal(int sig) {
    if (results_fd >= 0) write_all(results_fd, failed_line);
    write_all(2, failed_line);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void report(const std::string& line) {
    if (results_fd >= 0) write_all(results_fd, line);
    write_all(1, line);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s NAME DIR...\n", argv[0]);
        return 2;
    }
    const std::string name = argv[1];
    if (const char* path = std::getenv("QWIRE_RESULTS_FILE"); path != nullptr && *path != '\0')
        results_fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);

    std::vector<std::filesystem::path> files;
    for (int i = 2; i < argc; ++i) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(argv[i], ec))
            if (entry.is_regular_file()) files.push_back(entry.path());
        if (ec) {
            report(name + "\tfailed\tcannot read " + argv[i] + ": " + ec.message() + "\n");
            return 1;
        }
    }
    if (files.empty()) {
        report(name + "\tfailed\tno inputs to replay\n");
        return 1;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (!in.eof() && in.fail()) {
            report(name + "\tfailed\tcannot read " + file.string() + "\n");
            return 1;
        }
        failed_line = name + "\tfailed\tcrashed or broke an invariant on " + file.string() + "\n";
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    report(name + "\tpassed\t" + std::to_string(files.size()) + " inputs replayed\n");
    return 0;
}
