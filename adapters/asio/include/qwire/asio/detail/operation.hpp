/// \file
/// \brief One pending asynchronous operation, its handler type-erased.
///
/// Asio 1.22 has no any_completion_handler, and std::function cannot hold the move-only handlers
/// of use_awaitable and use_future, so each pending operation is an `operation<Args...>`: a heap
/// object that owns the handler, keeps its executor's work counted, and completes it exactly once
/// by posting it to that executor (never inline: a completion may be produced inside the
/// initiating call). Its cancellation slot, if any, is hooked up when the operation is made, in
/// the initiating thread, and cleared in the handler's own context just before the handler runs.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

namespace qwire::asio::detail {

template <class... Args>
class operation {
public:
    operation(const operation&) = delete;
    operation& operator=(const operation&) = delete;
    virtual ~operation() = default;

    /// Names the operation for cancellation (unique per connection).
    [[nodiscard]] std::uint64_t key() const noexcept { return key_; }
    /// True when the handler came with a connected cancellation slot.
    [[nodiscard]] bool cancellable() const noexcept { return cancellable_; }

    /// Hands `args` to the handler, which runs later on its associated executor. Call once; the
    /// operation is spent afterwards and only fit for destruction.
    virtual void complete(Args... args) = 0;

protected:
    explicit operation(std::uint64_t key) noexcept : key_(key) {}
    bool cancellable_ = false;

private:
    std::uint64_t key_;
};

template <class Handler, class DefaultExecutor, class... Args>
class operation_for final : public operation<Args...> {
public:
    /// `on_cancel(asio::cancellation_type)` is installed in the handler's cancellation slot; it
    /// runs in whatever thread emits the signal.
    template <class OnCancel>
    operation_for(Handler handler, const DefaultExecutor& fallback, std::uint64_t key, OnCancel on_cancel)
        : operation<Args...>(key),
          work_(::asio::prefer(::asio::get_associated_executor(handler, fallback),
                               ::asio::execution::outstanding_work.tracked)),
          handler_(std::move(handler)) {
        auto slot = ::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) {
            this->cancellable_ = true;
            slot.assign(std::move(on_cancel));
        }
    }

    void complete(Args... args) override {
        ::asio::post(work_, [handler = std::move(handler_), ... args = std::move(args)]() mutable {
            auto slot = ::asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.clear();
            std::move(handler)(std::move(args)...);
        });
    }

private:
    using executor = ::asio::associated_executor_t<Handler, DefaultExecutor>;
    std::decay_t<decltype(::asio::prefer(std::declval<const executor&>(),
                                         ::asio::execution::outstanding_work.tracked))>
        work_;
    Handler handler_;
};

/// A pending operation for `handler`, whose result is `void(Args...)`.
template <class... Args, class Handler, class DefaultExecutor, class OnCancel>
std::unique_ptr<operation<Args...>> make_operation(Handler&& handler, const DefaultExecutor& fallback,
                                                   std::uint64_t key, OnCancel&& on_cancel) {
    using op = operation_for<std::decay_t<Handler>, DefaultExecutor, Args...>;
    return std::make_unique<op>(std::forward<Handler>(handler), fallback, key, std::forward<OnCancel>(on_cancel));
}

}  // namespace qwire::asio::detail
