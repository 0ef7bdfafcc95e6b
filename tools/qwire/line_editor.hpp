// tools/qwire/line_editor.hpp — the shell's input: libedit's readline interface in callback
// mode on a terminal (so the epoll loop keeps running while a line is typed, and events can be
// printed above the line being edited), plain lines from a pipe otherwise.
//
// libedit keeps global state, so at most one line_editor exists at a time.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "completion.hpp"

namespace qwire::tool {

class line_editor {
public:
    /// Called with each line typed (without its newline), or nullopt at end of input.
    using line_handler = std::function<void(std::optional<std::string>)>;

    /// Reads standard input. On a terminal: `prompt`, history loaded from `history_file` (its
    /// folder made if missing) and saved after every line, Tab completion from `complete`.
    line_editor(std::string prompt, std::string history_file, const completer& complete, line_handler on_line);
    line_editor(const line_editor&) = delete;
    line_editor& operator=(const line_editor&) = delete;
    ~line_editor();

    [[nodiscard]] bool interactive() const { return interactive_; }
    /// Standard input is readable: reads what is there and calls the handler per line.
    void on_input();
    /// Prints `text` (and a newline) so that it does not garble the line being typed: the
    /// prompt and the partial line are drawn again below it.
    void print(std::string_view text);
    /// Stops reading (the handler is not called again).
    void stop();

private:
    static void line_trampoline(char* line);
    static char** complete_trampoline(const char* text, int start, int end);
    static char* candidate(const char* text, int state);
    static int end_of_input_key(int count, int key);

    std::string prompt_;
    std::string history_file_;
    const completer& complete_;
    line_handler on_line_;
    bool interactive_ = false;
    bool installed_ = false;
    bool end_of_input_ = false;  // Ctrl-D on an empty line
    std::string pending_;  // piped input not yet ended by a newline
};

}  // namespace qwire::tool
