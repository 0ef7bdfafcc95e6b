// qwire::sync_client against a real qemu-system-x86_64.
#include "qwire/sync_client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "qemu_testing.hpp"

using namespace std::chrono_literals;
using qwire::errc;
using qwire::sync_client;
using json = nlohmann::json;

TEST_CASE("sync: greeting, OOB, query-status, query-version, the 207 KB schema, an unknown command") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto c = sync_client::connect(qemu->socket_path(), 10s);
    REQUIRE(c);
    CHECK(c->oob_enabled());
    CHECK(c->greeting().capabilities == std::vector<std::string>{"oob"});
    CHECK(c->greeting().version["qemu"]["major"].get<int>() >= 7);

    auto status = c->execute("query-status");
    REQUIRE(status);
    CHECK((*status)["status"].is_string());
    CHECK((*status)["running"].is_boolean());

    auto version = c->execute("query-version");
    REQUIRE(version);
    CHECK((*version)["qemu"] == c->greeting().version["qemu"]);

    auto schema = c->execute("query-qmp-schema");
    REQUIRE(schema);
    CHECK(schema->is_array());
    CHECK(schema->dump().size() > 100'000);

    auto unknown = c->execute("no-such-command");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code() == errc::command_failed);
    CHECK(unknown.error().error_class() == "CommandNotFound");
    CHECK(unknown.error().detail().find("no-such-command") != std::string::npos);

    auto bad_args = c->execute("query-status", {{"nonsense", 1}});
    REQUIRE_FALSE(bad_args);
    CHECK(bad_args.error().error_class() == "GenericError");
    CHECK(c->is_connected());  // error replies do not end the session
}

TEST_CASE("sync: STOP and RESUME arrive before their command's reply and are kept") {
    qwire::test::qemu_options guest;
    guest.guest = true;
    QWIRE_START_QEMU(qemu, guest);
    auto c = sync_client::connect(qemu->socket_path(), 10s);
    REQUIRE(c);
    REQUIRE(c->execute("cont"));
    REQUIRE(c->execute("stop"));
    REQUIRE(c->execute("query-status"));
    // Both events came in while the commands waited; wait_event finds them without waiting.
    auto resume = c->wait_event("RESUME", 0s);
    REQUIRE(resume);
    auto stop = c->wait_event("STOP", 0s);
    REQUIRE(stop);
    CHECK(stop->timestamp.seconds > 0);
    CHECK(c->wait_event("STOP", 10ms).error().code() == errc::timed_out);
    REQUIRE(c->execute("cont"));
    CHECK(c->wait_event("", 5s)->name == "RESUME");
}

TEST_CASE("sync: file descriptors travel with getfd and add-fd") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto c = sync_client::connect(qemu->socket_path(), 10s);
    REQUIRE(c);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(c->execute_with_fds("getfd", {{"fdname", "pipe-w"}}, {fds[1]}));
    // QEMU knows the name now: closing it succeeds, and a second close fails.
    REQUIRE(c->execute("closefd", {{"fdname", "pipe-w"}}));
    CHECK(c->execute("closefd", {{"fdname", "pipe-w"}}).error().code() == errc::command_failed);

    auto added = c->execute_with_fds("add-fd", {{"fdset-id", 7}, {"opaque", "qwire"}}, {fds[0]});
    REQUIRE(added);
    CHECK((*added)["fdset-id"] == 7);
    auto sets = c->execute("query-fdsets");
    REQUIRE(sets);
    bool found = false;
    for (const auto& set : *sets) {
        if (set["fdset-id"] == 7 && set["fds"].size() == 1 && set["fds"][0]["opaque"] == "qwire") found = true;
    }
    CHECK(found);
    // Without a descriptor, getfd is refused by QEMU.
    CHECK(c->execute("getfd", {{"fdname", "none"}}).error().code() == errc::command_failed);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("sync: quit gives SHUTDOWN, the reply, then an orderly end") {
    QWIRE_START_QEMU(qemu, qwire::test::qemu_options{});
    auto c = sync_client::connect(qemu->socket_path(), 10s);
    REQUIRE(c);
    REQUIRE(c->execute("quit"));
    auto shutdown = c->wait_event("SHUTDOWN", 0s);
    REQUIRE(shutdown);
    CHECK(shutdown->data["reason"] == "host-qmp-quit");
    // The EOF after the reply ends the session with peer_closed (it may already have come).
    auto after = c->wait_event("NEVER", 5s);
    REQUIRE_FALSE(after);
    CHECK((after.error().code() == errc::peer_closed || after.error().code() == errc::invalid_state));
    CHECK_FALSE(c->is_connected());
    REQUIRE(c->disconnect_reason());
    CHECK(c->disconnect_reason()->code() == errc::peer_closed);
    CHECK(c->execute("query-status").error().code() == errc::invalid_state);
    CHECK(qemu->process().wait_exit(5s).has_value());
}

TEST_CASE("sync: a missing socket and a socket nobody answers give typed errors in time") {
    qwire::test::temp_dir dir;
    const auto start = std::chrono::steady_clock::now();
    auto missing = sync_client::connect(dir.file("none.sock"), 2s);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code() == errc::connection_lost);
    CHECK(missing.error().cause() == std::errc::no_such_file_or_directory);
    CHECK(std::chrono::steady_clock::now() - start < 1s);

    // A listening socket that never accepts: connect succeeds, no greeting ever comes.
    auto listener = qwire::epoll::listen_unix(dir.file("silent.sock"));
    REQUIRE(listener);
    const auto t0 = std::chrono::steady_clock::now();
    auto silent = sync_client::connect(dir.file("silent.sock"), 300ms);
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(silent);
    CHECK(silent.error().code() == errc::handshake_timed_out);
    CHECK(took >= 300ms);
    CHECK(took < 3s);

    auto refused = sync_client::connect("127.0.0.1:1", 2s);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == errc::connection_lost);
    CHECK(refused.error().cause() == std::errc::connection_refused);
}
