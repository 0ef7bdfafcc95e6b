// tools/qwire/completion.hpp — what Tab offers in `qwire shell`, from what the peer told us.
//
// Command names come from query-commands (or the guest agent's guest-info); argument names,
// nested members (file.driver=…) and enum values from query-qmp-schema when the shell could
// fetch it. Pure: the shell feeds it the text left of the cursor and shows what it returns.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qwire/qmp/schema.hpp"

namespace qwire::tool {

class completer {
public:
    completer() = default;
    void set_commands(std::vector<std::string> names);
    void set_schema(std::shared_ptr<const qmp::schema> s) { schema_ = std::move(s); }
    [[nodiscard]] const std::vector<std::string>& commands() const { return commands_; }

    /// Candidates for the last word of `before_cursor` (the whole word each, sorted): command
    /// names for the first word; "name=" for an argument (given ones left out; dotted paths
    /// into nested objects); "key=value" for an enum or boolean value. Empty when nothing fits.
    [[nodiscard]] std::vector<std::string> complete(std::string_view before_cursor) const;

private:
    [[nodiscard]] std::vector<std::string> complete_argument(const std::string& command, const std::vector<std::string>& words,
                                                             const std::string& word) const;
    std::vector<std::string> commands_;
    std::shared_ptr<const qmp::schema> schema_;
};

}  // namespace qwire::tool
