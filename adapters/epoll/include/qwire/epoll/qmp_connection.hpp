/// \file
/// \brief A QMP session on an epoll loop (see connection.hpp).
#pragma once

#include "qwire/epoll/connection.hpp"
#include "qwire/qmp/client.hpp"

namespace qwire::epoll {

/// Options of a qmp_connection: qmp::client_options plus the transport's.
using connection_options = basic_connection_options<qmp::client_options>;
/// A QMP session on an epoll loop: connection over a qmp::client.
using qmp_connection = connection<qmp::client>;

}  // namespace qwire::epoll
