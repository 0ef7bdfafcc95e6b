// qwire::asio over TCP and TLS (asio::ssl::stream) against a real QEMU whose monitors listen on
// 127.0.0.1, with certificates made for the test by the openssl command.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <asio/ssl.hpp>

#include "asio_testing.hpp"
#include "qwire/asio/tls.hpp"
#include "qwire/sync_client.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using qwire::errc;
using qwire::test::run_until;

namespace {

/// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    REQUIRE(ok);
    return ntohs(addr.sin_port);
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    REQUIRE(out.good());
}

/// Runs the openssl command in `dir`; fails the test with its output if it fails.
void openssl(const qwire::test::temp_dir& dir, const std::string& program, std::vector<std::string> args) {
    args.insert(args.begin(), program);
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i].starts_with("@")) args[i] = dir.file(args[i].substr(1));
    }
    auto child = qwire::test::child_process::spawn(args, dir.file("openssl.log"));
    const auto status = child.wait_exit(30s);
    INFO(args[1] << ": " << qwire::test::read_file(dir.file("openssl.log")));
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    REQUIRE(WEXITSTATUS(*status) == 0);
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as QEMU's
/// tls-creds-x509 wants them in a folder (ca-cert.pem, server-cert.pem, server-key.pem), plus
/// a second, unrelated CA ("@" names a file in the folder).
struct certificates {
    qwire::test::temp_dir dir;

    explicit certificates(const std::string& program) {
        write_text(dir.file("ca.cnf"),
                   "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ca\n[dn]\nCN = qwire test CA\n"
                   "[ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
                   "subjectKeyIdentifier = hash\n");
        write_text(dir.file("server.ext"),
                   "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n"
                   "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n");
        write_text(dir.file("client.ext"),
                   "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n"
                   "extendedKeyUsage = clientAuth\n");
        for (const std::string ca : {"ca", "wrong-ca"}) {
            openssl(dir, program, {"req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-config", "@ca.cnf",
                                   "-keyout", "@" + ca + "-key.pem", "-out", "@" + ca + "-cert.pem", "-days", "2"});
        }
        for (const std::string who : {"server", "client"}) {
            openssl(dir, program, {"req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=qwire " + who,
                                   "-keyout", "@" + who + "-key.pem", "-out", "@" + who + ".csr"});
            openssl(dir, program, {"x509", "-req", "-in", "@" + who + ".csr", "-CA", "@ca-cert.pem", "-CAkey",
                                   "@ca-key.pem", "-set_serial", who == "server" ? "2" : "3", "-days", "2",
                                   "-extfile", "@" + who + ".ext", "-out", "@" + who + "-cert.pem"});
        }
    }

    /// A client context trusting `ca` ("ca" or "wrong-ca") and showing the client certificate.
    [[nodiscard]] asio::ssl::context client_context(const std::string& ca) const {
        asio::ssl::context tls(asio::ssl::context::tls_client);
        tls.load_verify_file(dir.file(ca + "-cert.pem"));
        tls.use_certificate_chain_file(dir.file("client-cert.pem"));
        tls.use_private_key_file(dir.file("client-key.pem"), asio::ssl::context::pem);
        tls.set_verify_mode(asio::ssl::verify_peer);
        return tls;
    }
};

/// QEMU's extra monitors: plain TCP on one port, TLS on another (both loopback only).
std::vector<std::string> tcp_monitors(const certificates& certs, std::uint16_t tcp_port, std::uint16_t tls_port) {
    return {"-object", "tls-creds-x509,id=tls0,dir=" + certs.dir.path() + ",endpoint=server,verify-peer=on",
            "-chardev", "socket,id=tcpmon,host=127.0.0.1,port=" + std::to_string(tcp_port) + ",server=on,wait=off",
            "-mon", "chardev=tcpmon,mode=control",
            "-chardev", "socket,id=tlsmon,host=127.0.0.1,port=" + std::to_string(tls_port) +
                            ",server=on,wait=off,tls-creds=tls0",
            "-mon", "chardev=tlsmon,mode=control"};
}

asio::ip::tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::address_v4::loopback(), port}; }

}  // namespace

TEST_CASE("asio TLS: commands over asio::ssl::stream and plain TCP; a client trusting the wrong CA fails typed") {
    const auto program = qwire::test::find_program("openssl");
    if (!program) QWIRE_SKIP("the openssl command is not installed");
    const certificates certs(*program);
    const std::uint16_t tcp_port = free_port(), tls_port = free_port();
    qwire::test::qemu_options options;
    options.extra_args = tcp_monitors(certs, tcp_port, tls_port);
    QWIRE_START_QEMU(qemu, options);
    // Once QEMU answers on its Unix monitor, its main loop runs and every monitor listens.
    REQUIRE(qwire::sync_client::connect(qemu->socket_path(), 10s));

    asio::io_context io;
    {
        auto tls = certs.client_context("ca");
        qwire::asio::tls_qmp_connection conn(io, {}, tls);
        conn.stream().set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
        qwire::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
            co_await conn.async_connect(loopback(tls_port), asio::use_awaitable);
            CHECK(conn.client().oob_enabled());
            const json status = co_await conn.async_execute("query-status", asio::use_awaitable);
            CHECK(status.contains("running"));
            const json schema = co_await conn.async_execute("query-qmp-schema", asio::use_awaitable);
            CHECK(schema.dump().size() > 100'000);  // many TLS records
            auto [ec, error] = co_await conn.async_execute("no-such-command", asio::experimental::as_tuple(asio::use_awaitable));
            CHECK(ec == errc::command_failed);
            CHECK(error["class"] == "CommandNotFound");
            co_await conn.async_close(asio::use_awaitable);
        }());
    }
    {
        qwire::asio::tcp_qmp_connection conn(io);
        qwire::test::run_coroutine(io, [&]() -> asio::awaitable<void> {
            co_await conn.async_connect(loopback(tcp_port), asio::use_awaitable);
            const json version = co_await conn.async_execute("query-version", asio::use_awaitable);
            CHECK(version.contains("qemu"));
            qwire::qmp::exec_options with_fd;
            with_fd.fds = {0};
            const json name = {{"fdname", "x"}};
            auto [ec, v] = co_await conn.async_execute("getfd", name, with_fd,
                                                       asio::experimental::as_tuple(asio::use_awaitable));
            CHECK(ec == errc::not_supported);  // descriptors need a Unix socket
            CHECK(conn.is_ready());
        }());
    }
    {
        auto wrong = certs.client_context("wrong-ca");
        qwire::asio::tls_qmp_connection conn(io, {}, wrong);
        std::error_code outcome;
        conn.async_connect(loopback(tls_port), [&](std::error_code ec) { outcome = ec; });
        REQUIRE(run_until(io, [&] { return bool(outcome); }, 10s));
        CHECK(outcome == errc::connection_lost);
        REQUIRE(conn.disconnect_reason());
        const std::error_code cause = conn.disconnect_reason()->cause();
        INFO(cause.message());
        CHECK(cause.category() == asio::error::get_ssl_category());
        CHECK(conn.is_finished());
    }
}
