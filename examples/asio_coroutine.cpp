// asio_coroutine QMP_SOCKET (a running QEMU): query-status; `stop` while awaiting its STOP event;
// query-version given one second (|| cancels the loser). Errors throw std::system_error.
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <iostream>

#include "qwire/asio/qmp_connection.hpp"

using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

asio::awaitable<void> session(std::string path) {
    qwire::asio::unix_qmp_connection qemu(co_await asio::this_coro::executor);
    co_await qemu.async_connect(asio::local::stream_protocol::endpoint(path), use_awaitable);
    std::cout << "status: " << co_await qemu.async_execute("query-status", use_awaitable) << '\n';

    auto [stopped, reply] = co_await (qemu.async_wait_event("STOP", use_awaitable) &&
                                      qemu.async_execute("stop", use_awaitable));
    std::cout << "event " << stopped.name << ", reply " << reply << '\n';

    asio::steady_timer limit(co_await asio::this_coro::executor, std::chrono::seconds(1));
    auto first = co_await (qemu.async_execute("query-version", use_awaitable) || limit.async_wait(use_awaitable));
    if (first.index() == 0) std::cout << "version: " << std::get<0>(first) << '\n';
    co_await qemu.async_close(use_awaitable);
}

int main(int argc, char** argv) {
    if (argc != 2) return std::cerr << "usage: asio_coroutine QMP_SOCKET\n", 2;
    asio::io_context io;
    int status = 0;
    asio::co_spawn(io, session(argv[1]), [&](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const std::exception& x) {
            std::cerr << "asio_coroutine: " << x.what() << '\n', status = 1;
        }
    });
    return io.run(), status;
}
