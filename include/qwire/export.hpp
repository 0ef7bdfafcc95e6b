/// \file
/// \brief QWIRE_API: marks what the qwire libraries export.
///
/// The libraries are built with hidden symbol visibility, so only declarations marked with
/// QWIRE_API are part of the shared library's interface; everything else stays internal and
/// may change between releases without breaking the ABI. Applied to public classes (the whole
/// class is exported, vtable and typeinfo included) and to public free functions. Linux (ELF)
/// only, like qwire itself: the same attribute serves building the library and using it.
#pragma once

/// Exports a class or a free function from a qwire shared library.
#define QWIRE_API __attribute__((visibility("default")))
