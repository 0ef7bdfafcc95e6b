// Catch2 glue for tests that start QEMU: skip when it is not installed (a failure when CI is
// set), fail with QEMU's own output when it does not start.
#pragma once

#include "qemu_process.hpp"
#include "testing.hpp"

/// Declares `var`, a running qwire::test::qemu_process started with `opts`.
#define QWIRE_START_QEMU(var, opts)                                                    \
    std::string var##_why_not;                                                         \
    auto var = ::qwire::test::qemu_process::start((opts), var##_why_not);              \
    if (!var) {                                                                        \
        if (var##_why_not.empty()) QWIRE_SKIP("qemu-system-x86_64 is not installed");  \
        FAIL(var##_why_not);                                                           \
    }
