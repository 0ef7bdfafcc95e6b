// qt_monitor: prints the events of a running QEMU until it quits, through the Qt adapter.
//
//   qemu-system-x86_64 … -qmp unix:/tmp/qmp.sock,server=on,wait=off &
//   qt_monitor /tmp/qmp.sock            (or HOST:PORT for a TCP monitor)
#include <QtCore/QCoreApplication>
#include <QtCore/QJsonDocument>
#include <QtCore/QTextStream>

#include "qwire/qt/qmp_connection.hpp"

using qwire::qt::QmpConnection;

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    QTextStream out(stdout);
    if (args.size() != 2) {
        QTextStream(stderr) << "usage: qt_monitor SOCKET_PATH|HOST:PORT\n";
        return 2;
    }
    QmpConnection qmp;
    QObject::connect(&qmp, &QmpConnection::ready, [&] {
        const auto& version = qmp.client().greeting()->version["qemu"];
        out << "connected to QEMU " << version["major"].get<int>() << '.' << version["minor"].get<int>()
            << "; waiting for events" << Qt::endl;
    });
    QObject::connect(&qmp, &QmpConnection::eventReceived,
                     [&](const QString& name, const QJsonObject& data, const QDateTime& when) {
                         out << when.toString(Qt::ISODateWithMs) << ' ' << name << ' '
                             << QJsonDocument(data).toJson(QJsonDocument::Compact) << Qt::endl;
                     });
    QObject::connect(&qmp, &QmpConnection::disconnected, [&](const qwire::error& reason) {
        out << "disconnected: " << QString::fromStdString(reason.message()) << Qt::endl;
        app.exit(reason.code() == qwire::errc::peer_closed ? 0 : 1);
    });
    const QString where = args[1];
    const auto colon = where.lastIndexOf(':');
    if (colon > 0 && !where.contains('/')) {
        (void)qmp.connectToHost(where.left(colon), where.mid(colon + 1).toUShort());
    } else {
        (void)qmp.connectToServer(where);
    }
    return app.exec();
}
