// QmpConnection over TLS (QSslSocket), with credentials made for the test by the openssl tool:
// a CA, and a server certificate for 127.0.0.1 signed by it.
//
// Commands flowing over TLS are checked against a small QMP peer on a QSslServer, not against
// QEMU: QEMU 7.2's TLS monitor reads one byte of a TLS record and leaves the rest in gnutls
// until the next record arrives (one command then waits for the next one; commands sharing a
// record are never answered), so no client can hold a session with it. The handshake is
// checked against QEMU itself.
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslServer>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

#include <cstdlib>

#include "qt_testing.hpp"

using namespace std::chrono_literals;
using qwire::qt::QmpConnection;
using qwire::test::qt_session;
using qwire::test::spin_until;
using json = nlohmann::json;

namespace {

// Writes ca-cert.pem, server-cert.pem and server-key.pem (QEMU's file names) into `dir`.
bool make_credentials(const std::string& dir) {
    const std::string script =
        "cd '" + dir + "' && exec >openssl.log 2>&1 && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=qwire-test-ca -keyout ca-key.pem -out ca-cert.pem && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 "
        "-keyout server-key.pem -out server.csr && "
        "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' >ext.cnf && "
        "openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 "
        "-extfile ext.cnf -out server-cert.pem";
    return std::system(script.c_str()) == 0;
}

QByteArray read_file_bytes(const std::string& path) { return QByteArray::fromStdString(qwire::test::read_file(path)); }

// A QMP server that greets, accepts qmp_capabilities and answers every other command with
// {"return":{"command":NAME},"id":ID}. Commands arrive one per line (qwire writes no newline
// inside a command, and QMP needs none between them, so it splits on the closing brace of
// each top-level object instead).
class fake_qmp_peer {
public:
    explicit fake_qmp_peer(const std::string& creds) {
        QSslConfiguration config = QSslConfiguration::defaultConfiguration();
        config.setLocalCertificate(QSslCertificate(read_file_bytes(creds + "/server-cert.pem")));
        config.setPrivateKey(QSslKey(read_file_bytes(creds + "/server-key.pem"), QSsl::Ec));
        server_.setSslConfiguration(config);
        REQUIRE(server_.listen(QHostAddress::LocalHost, 0));
        QObject::connect(&server_, &QTcpServer::pendingConnectionAvailable, [this] {
            auto* socket = qobject_cast<QSslSocket*>(server_.nextPendingConnection());
            if (socket == nullptr) return;
            socket->write(R"({"QMP":{"version":{"qemu":{"major":9,"minor":0,"micro":0},"package":""},"capabilities":["oob"]}})"
                          "\r\n");
            QObject::connect(socket, &QSslSocket::readyRead, [this, socket] { answer(*socket); });
        });
    }

    [[nodiscard]] quint16 port() const { return server_.serverPort(); }
    std::size_t commands = 0;

private:
    void answer(QSslSocket& socket) {
        input_ += socket.readAll().toStdString();
        int depth = 0;
        std::size_t start = 0;
        for (std::size_t i = 0; i < input_.size(); ++i) {  // no braces inside the strings used here
            if (input_[i] == '{') ++depth;
            if (input_[i] == '}' && --depth == 0) {
                const auto command = json::parse(input_.substr(start, i + 1 - start));
                ++commands;
                json reply = {{"return", json::object()}};
                if (command["execute"] != "qmp_capabilities") reply["return"]["command"] = command["execute"];
                if (command.contains("id")) reply["id"] = command["id"];
                socket.write(QByteArray::fromStdString(reply.dump() + "\r\n"));
                start = i + 1;
            }
        }
        input_.erase(0, start);
    }

    QSslServer server_;
    std::string input_;
};

// Credentials in a private folder, or a skip.
#define QWIRE_TLS_CREDENTIALS(dir)                                                                   \
    if (!QSslSocket::supportsSsl()) QWIRE_SKIP("Qt has no TLS backend");                             \
    if (!qwire::test::find_program("openssl")) QWIRE_SKIP("the openssl tool is not installed");      \
    qwire::test::temp_dir dir;                                                                       \
    REQUIRE(make_credentials(dir.path()))

}  // namespace

TEST_CASE_METHOD(qt_session, "qt tls: negotiation and 50 pipelined commands over QSslSocket, the test CA trusted") {
    QWIRE_TLS_CREDENTIALS(creds);
    fake_qmp_peer peer(creds.path());
    QSslConfiguration trust = QSslConfiguration::defaultConfiguration();
    trust.setCaCertificates(QSslCertificate::fromPath(QString::fromStdString(creds.file("ca-cert.pem"))));
    REQUIRE(qmp.connectToHostEncrypted("127.0.0.1", peer.port(), trust));
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(log.execute(qmp, i % 2 ? "query-status" : "query-name")->id().value);
    REQUIRE(spin_until([&] { return log.finished + log.failed == 50 || log.disconnects > 0; }, 10s));
    INFO(qmp.transportErrorString().toStdString());
    REQUIRE(log.finished == 50);
    CHECK(qmp.client().oob_enabled());
    CHECK(qobject_cast<QSslSocket*>(qmp.device())->isEncrypted());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        CHECK(log.lines[i + 1] == "finished " + std::to_string(ids[i]));
        CHECK(log.results[ids[i]]["command"] == (i % 2 ? "query-status" : "query-name"));
    }
    CHECK(peer.commands == 51);
}

TEST_CASE_METHOD(qt_session, "qt tls: QEMU's x509 monitor with the default trust store: the handshake fails, so do held commands") {
    QWIRE_TLS_CREDENTIALS(creds);
    quint16 port = 0;
    {
        QTcpServer probe;
        REQUIRE(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    qwire::test::qemu_options options;
    options.extra_args = {"-object", "tls-creds-x509,id=tls0,endpoint=server,verify-peer=off,dir=" + creds.path(),
                          "-chardev", "socket,id=tlsmon,host=127.0.0.1,port=" + std::to_string(port) +
                                          ",server=on,wait=off,tls-creds=tls0",
                          "-mon", "chardev=tlsmon,mode=control"};
    QWIRE_START_QEMU(qemu, options);
    REQUIRE(qmp.connectToHostEncrypted("127.0.0.1", port));
    const auto id = log.execute(qmp, "query-version")->id().value;
    REQUIRE(spin_until([&] { return log.disconnects == 1; }, 10s));
    const std::vector<std::string> expected = {"failed " + std::to_string(id) + " connection_lost",
                                               "disconnected connection_lost"};
    CHECK(log.lines == expected);
    CHECK(log.reasons.at(0).cause().value() == QAbstractSocket::SslHandshakeFailedError);
    CHECK(log.reasons.at(0).message().find("TLS handshake failed") != std::string::npos);
    CHECK_FALSE(qmp.transportErrorString().isEmpty());
}
