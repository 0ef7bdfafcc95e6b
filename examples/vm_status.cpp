// vm_status: the smallest qwire program that talks to a real QEMU. Connects to a QMP socket
// with the blocking client, prints QEMU's version and the VM's run state, and exits.
//
//   vm_status /run/vm/qmp.sock      (or unix:PATH, or HOST:PORT)
//
// Exit status: 0 on success, 1 when a command failed, 2 when the connection did.
#include <cstdio>

#include "qwire/sync_client.hpp"
#include "qwire/version.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: vm_status QMP-SOCKET\n");
        return 2;
    }
    auto qemu = qwire::sync_client::connect(argv[1]);
    if (!qemu) {
        std::fprintf(stderr, "vm_status: %s\n", qemu.error().message().c_str());
        return 2;
    }
    const auto& version = qemu->greeting().version;  // {"qemu":{"major":7,"minor":2,"micro":0},…}
    const auto part = [&](const char* pointer) { return version.value(nlohmann::json::json_pointer(pointer), -1); };
    auto status = qemu->execute("query-status");
    if (!status) {
        std::fprintf(stderr, "vm_status: query-status: %s\n", status.error().message().c_str());
        return status.error().code() == qwire::errc::command_failed ? 1 : 2;
    }
    std::printf("qwire %s, QEMU %d.%d.%d, status %s\n", QWIRE_VERSION_STRING, part("/qemu/major"),
                part("/qemu/minor"), part("/qemu/micro"), status->value("status", "unknown").c_str());
    return 0;
}
