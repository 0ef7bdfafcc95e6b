// Tab completion in `qwire shell`, from the schema QEMU 7.2 sent in the corpus.
#include "completion.hpp"

#include "testing.hpp"

namespace {

using qwire::tool::completer;
using strings = std::vector<std::string>;

completer from_corpus() {
    completer c;
    auto schema = qwire::test::corpus_schema();
    if (!schema) return c;
    c.set_commands(schema->command_names());
    c.set_schema(schema);
    return c;
}

}  // namespace

TEST_CASE("command names complete the first word") {
    const auto c = from_corpus();
    if (c.commands().empty()) QWIRE_SKIP("no corpus");
    CHECK(c.complete("query-sta") == strings{"query-stats", "query-stats-schemas", "query-status"});
    CHECK(c.complete("qmp_cap") == strings{"qmp_capabilities"});
    CHECK(c.complete("").size() == c.commands().size());
    CHECK(c.complete("no-such-").empty());
    CHECK(c.complete("{\"execute\": \"q").empty());
}

TEST_CASE("argument names follow the command, given ones left out") {
    const auto c = from_corpus();
    if (c.commands().empty()) QWIRE_SKIP("no corpus");
    CHECK(c.complete("human-monitor-command ") == strings{"command-line=", "cpu-index="});
    CHECK(c.complete("human-monitor-command c") == strings{"command-line=", "cpu-index="});
    CHECK(c.complete("human-monitor-command com") == strings{"command-line="});
    CHECK(c.complete("human-monitor-command command-line=\"info version\" ") == strings{"cpu-index="});
    CHECK(c.complete("query-status ").empty());
    CHECK(c.complete("unknown-command ").empty());
    CHECK(c.complete("human-monitor-command command-line=\"info").empty());  // inside a quote
}

TEST_CASE("enum and boolean values complete after '='") {
    const auto c = from_corpus();
    if (c.commands().empty()) QWIRE_SKIP("no corpus");
    CHECK(c.complete("set-action reboot=") == strings{"reboot=reset", "reboot=shutdown"});
    CHECK(c.complete("set-action reboot=s") == strings{"reboot=shutdown"});
    CHECK(c.complete("human-monitor-command command-line=").empty());  // a string: anything goes
}

TEST_CASE("unions and nested objects complete by dotted path") {
    const auto c = from_corpus();
    if (c.commands().empty()) QWIRE_SKIP("no corpus");
    // blockdev-add's members depend on the driver chosen.
    const auto common = c.complete("blockdev-add ");
    CHECK(std::find(common.begin(), common.end(), "driver=") != common.end());
    CHECK(std::find(common.begin(), common.end(), "cache.") != common.end());
    CHECK(std::find(common.begin(), common.end(), "filename=") == common.end());
    const auto file = c.complete("blockdev-add driver=file ");
    CHECK(std::find(file.begin(), file.end(), "filename=") != file.end());
    CHECK(c.complete("blockdev-add cache.") == strings{"cache.direct=", "cache.no-flush="});
    CHECK(c.complete("blockdev-add cache.direct=") == strings{"cache.direct=false", "cache.direct=true"});
    CHECK(c.complete("blockdev-add nosuch.").empty());
}
