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

/// Declares `var`, a running peer started by `expr` (a qemu_process::start_* call that takes a
/// `std::string& why_not` named var##_why_not), skipping or failing like QWIRE_START_QEMU.
#define QWIRE_START_PEER(var, program, expr)                                         \
    std::string var##_why_not;                                                       \
    auto var = (expr);                                                               \
    if (!var) {                                                                      \
        if (var##_why_not.empty()) QWIRE_SKIP(program " is not installed");          \
        FAIL(var##_why_not);                                                         \
    }
