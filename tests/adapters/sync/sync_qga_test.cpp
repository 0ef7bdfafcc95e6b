// qwire::sync_qga against a real qemu-ga on this machine, with every command that changes
// anything blocked (-b); only read-only commands are called.
#include "qwire/sync_qga.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "qemu_testing.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::sync_qga;

TEST_CASE("sync qga: sync, then read-only commands; a blocked command is a typed error") {
    QWIRE_START_PEER(ga, "qemu-ga", qwire::test::qemu_process::start_qemu_ga(ga_why_not));
    auto c = sync_qga::connect(ga->socket_path(), 10s);
    REQUIRE(c);
    CHECK(c->client().is_ready());
    REQUIRE(c->execute("guest-ping"));
    auto info = c->execute("guest-info");
    REQUIRE(info);
    CHECK((*info)["version"].is_string());
    CHECK((*info)["supported_commands"].is_array());
    auto time = c->execute("guest-get-time");
    REQUIRE(time);
    CHECK(time->get<std::int64_t>() > 0);
    auto host = c->execute("guest-get-host-name");
    REQUIRE(host);
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    CHECK((*host)["host-name"] == std::string(name));
    REQUIRE(c->execute("guest-get-osinfo"));
    REQUIRE(c->execute("guest-get-timezone"));

    auto blocked = c->execute("guest-get-users");
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().code() == errc::command_failed);
    CHECK(blocked.error().detail().find("disabled") != std::string::npos);
    REQUIRE(c->sync(5s));
    REQUIRE(c->execute("guest-ping"));
}

TEST_CASE("sync qga: half a request left by another client, then sync() from a new connection recovers") {
    QWIRE_START_PEER(ga, "qemu-ga", qwire::test::qemu_process::start_qemu_ga(ga_why_not));
    {
        // A careless client writes half a command and leaves.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, ga->socket_path().c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        const char half[] = R"({"execute":"guest-ping","argu)";
        REQUIRE(::write(fd, half, sizeof half - 1) == static_cast<ssize_t>(sizeof half - 1));
        ::close(fd);
    }
    auto c = sync_qga::connect(ga->socket_path(), 10s);
    if (!c) FAIL("sync_qga::connect after the half request: " << c.error().message() << "\nqemu-ga said: " << ga->log());
    auto info = c->execute("guest-info");
    REQUIRE(info);
    CHECK(info->contains("version"));
    CHECK(c->client().discarded_messages() >= 1);  // the agent's parse error for the leftover
}
