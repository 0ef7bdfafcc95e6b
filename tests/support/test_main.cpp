// The main() of every Catch2 test program, plus a listener that appends one line per test case
// ("<program>\t<passed|failed|skipped>\t<name>") to the file named by QWIRE_RESULTS_FILE, from
// which `./run test` prints its "N passed, N failed" line.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "testing.hpp"

namespace qwire::test {
namespace {

bool skipped = false;  // set by skip() during the running test case

class results_listener : public Catch::TestEventListenerBase {
public:
    using TestEventListenerBase::TestEventListenerBase;

    void testRunStarting(const Catch::TestRunInfo& info) override { program_ = info.name; }

    void testCaseStarting(const Catch::TestCaseInfo&) override { skipped = false; }

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        const char* path = std::getenv("QWIRE_RESULTS_FILE");
        if (path == nullptr || *path == '\0') return;
        const bool failed = stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0;
        const char* status = failed ? "failed" : skipped ? "skipped" : "passed";
        std::ofstream out(path, std::ios::app);
        out << program_ << '\t' << status << '\t' << stats.testInfo.name << '\n';
    }

private:
    std::string program_;
};

}  // namespace

bool skip(const std::string& reason) {
    if (const char* ci = std::getenv("CI"); ci != nullptr && *ci != '\0') {
        FAIL_CHECK("CI is set, so this may not skip: " << reason);
        return true;
    }
    WARN("skipped: " << reason);
    skipped = true;
    return true;
}

}  // namespace qwire::test

using qwire::test::results_listener;
CATCH_REGISTER_LISTENER(results_listener)
