// qwire/epoll/qmp_connection.hpp — a QMP session on an epoll loop (see connection.hpp).
#pragma once

#include "qwire/epoll/connection.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::epoll {

using connection_options = basic_connection_options<qmp::client_options>;
using qmp_connection = connection<qmp::client>;

}  // namespace qwire::epoll
