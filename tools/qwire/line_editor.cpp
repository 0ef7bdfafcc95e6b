// The shell's input through libedit; see line_editor.hpp.
#include "line_editor.hpp"

#include <editline/readline.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

namespace qwire::tool {

namespace {

line_editor* active = nullptr;       // libedit's callbacks are plain functions
std::vector<std::string> candidates;  // of the completion in progress

void make_parent_folder(const std::string& file) {
    std::error_code ignored;  // without a folder, history is just not saved
    const auto parent = std::filesystem::path(file).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
}

}  // namespace

line_editor::line_editor(std::string prompt, std::string history_file, const completer& complete, line_handler on_line)
    : prompt_(std::move(prompt)), history_file_(std::move(history_file)), complete_(complete), on_line_(std::move(on_line)) {
    interactive_ = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
    if (!interactive_) return;
    active = this;
    rl_readline_name = "qwire";
    rl_attempted_completion_function = complete_trampoline;
    static char breaks[] = " \t";
    rl_completer_word_break_characters = breaks;
    using_history();
    stifle_history(1000);
    if (!history_file_.empty()) {
        make_parent_folder(history_file_);
        read_history(history_file_.c_str());
    }
    // libedit's callback mode does not report Ctrl-D on an empty line: catch the key instead.
    rl_bind_key(4, end_of_input_key);
    rl_callback_handler_install(prompt_.c_str(), line_trampoline);
    installed_ = true;
}

line_editor::~line_editor() {
    stop();
    if (active == this) active = nullptr;
}

void line_editor::stop() {
    if (installed_) {
        rl_callback_handler_remove();
        std::cout << "\r\033[K" << std::flush;  // no prompt left behind
        installed_ = false;
    }
    on_line_ = nullptr;
}

void line_editor::on_input() {
    if (!on_line_) return;
    if (interactive_) {
        rl_callback_read_char();
        if (end_of_input_ && on_line_) {
            std::cout << std::endl;
            auto handler = on_line_;
            handler(std::nullopt);
        }
        return;
    }
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        auto handler = on_line_;
        if (!pending_.empty()) handler(std::exchange(pending_, {}));
        if (on_line_) handler(std::nullopt);
        return;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending_.find('\n'); nl != std::string::npos && on_line_; nl = pending_.find('\n')) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        on_line_(std::move(line));
    }
}

void line_editor::print(std::string_view text) {
    if (!interactive_ || !installed_) {
        std::cout << text << std::endl;
        return;
    }
    // Clear the prompt line, print, then let libedit draw the prompt and the partial line again.
    std::cout << "\r\033[K" << text << std::endl;
    rl_forced_update_display();
}

void line_editor::line_trampoline(char* line) {
    if (!active || !active->on_line_) return std::free(line);
    std::optional<std::string> text;
    if (line) {
        text = line;
        std::free(line);
        if (!text->empty()) {
            add_history(text->c_str());
            if (!active->history_file_.empty()) write_history(active->history_file_.c_str());
        }
    }
    auto handler = active->on_line_;  // the handler may stop() the editor
    handler(std::move(text));
    // libedit keeps the finished line in its buffer until the next key, so a message printed
    // before then would draw it again: start a fresh line now by installing the handler anew.
    if (active && active->installed_) {
        rl_callback_handler_remove();
        rl_callback_handler_install(active->prompt_.c_str(), line_trampoline);
    }
}

int line_editor::end_of_input_key(int, int) {
    if (active && rl_end == 0) active->end_of_input_ = true;  // on a non-empty line, do nothing
    return 0;
}

char* line_editor::candidate(const char*, int state) {
    const auto i = static_cast<std::size_t>(state);
    return i < candidates.size() ? ::strdup(candidates[i].c_str()) : nullptr;
}

char** line_editor::complete_trampoline(const char* text, int start, int end) {
    rl_attempted_completion_over = 1;  // never fall back to file names
    if (!active) return nullptr;
    // The completer works on whole blank-separated words; libedit may have split the word
    // further (at '=' for one): hand it only the part after its own start.
    const std::string before(rl_line_buffer, static_cast<std::size_t>(end));
    const auto blank = before.find_last_of(" \t", static_cast<std::size_t>(start) > 0 ? static_cast<std::size_t>(start) - 1 : 0);
    const std::size_t word_start = start == 0 || blank == std::string::npos ? 0 : blank + 1;
    const std::size_t cut = static_cast<std::size_t>(start) - std::min<std::size_t>(word_start, static_cast<std::size_t>(start));
    candidates.clear();
    for (auto& c : active->complete_.complete(before)) candidates.push_back(c.substr(std::min(cut, c.size())));
    const bool more_to_type = candidates.size() == 1 && (candidates[0].ends_with('=') || candidates[0].ends_with('.'));
    rl_completion_append_character = more_to_type ? '\0' : ' ';
    return rl_completion_matches(text, candidate);
}

}  // namespace qwire::tool
