#include "qwire/epoll/loop.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace qwire::epoll {
namespace {

tl::unexpected<error> os_error(const char* what) {
    return tl::unexpected(error(errc::connection_lost, what, std::error_code(errno, std::system_category())));
}

constexpr std::uint64_t timer_token = 0;

}  // namespace

// Sources are known by a token, never by pointer, in epoll's data: a source removed during
// dispatch is then simply not found.
struct loop::state {
    int epfd = -1;
    int timerfd = -1;
    bool stopping = false;
    std::uint64_t next_token = 1;
    std::unordered_map<std::uint64_t, source*> by_token;
    std::unordered_map<source*, std::uint64_t> tokens;
    std::optional<time_point> armed;

    ~state() {
        if (timerfd >= 0) ::close(timerfd);
        if (epfd >= 0) ::close(epfd);
    }

    std::uint64_t token_of(source* s) {
        auto [it, added] = tokens.try_emplace(s, next_token);
        if (added) by_token.emplace(next_token++, s);
        return it->second;
    }

    std::optional<time_point> earliest() const {
        std::optional<time_point> best;
        for (const auto& [s, token] : tokens) {
            if (auto d = s->deadline(); d && (!best || *d < *best)) best = d;
        }
        return best;
    }

    // The timer may go off before the earliest deadline, never after it: a later or removed
    // deadline leaves it set (an early expiry finds nothing due and sets it again), so a
    // command that sets a deadline and gets its reply in time costs no timerfd_settime().
    void arm() {
        const auto when = earliest();
        if (!when || (armed && *armed <= *when)) return;
        armed = when;
        itimerspec spec{};
        if (when) {
            // timerfd uses CLOCK_MONOTONIC, the clock behind std::chrono::steady_clock on Linux.
            auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when->time_since_epoch()).count();
            if (ns <= 0) ns = 1;
            spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
            spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        }
        ::timerfd_settime(timerfd, TFD_TIMER_ABSTIME, &spec, nullptr);
    }

    void fire_deadlines() {
        std::uint64_t expired;
        while (::read(timerfd, &expired, sizeof expired) > 0) {
        }
        armed.reset();
        const time_point now = clock::now();
        std::vector<std::uint64_t> due;
        for (const auto& [s, token] : tokens) {
            if (auto d = s->deadline(); d && *d <= now) due.push_back(token);
        }
        for (std::uint64_t token : due) {
            if (auto it = by_token.find(token); it != by_token.end()) it->second->on_time(now);
        }
    }
};

loop::loop(std::unique_ptr<state> s) : state_(std::move(s)) {}
loop::loop(loop&&) noexcept = default;
loop& loop::operator=(loop&&) noexcept = default;
loop::~loop() = default;

tl::expected<loop, error> loop::create() {
    auto s = std::make_unique<state>();
    s->epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) return os_error("epoll_create1");
    s->timerfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->timerfd < 0) return os_error("timerfd_create");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = timer_token;
    if (::epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0) return os_error("epoll_ctl(timerfd)");
    return loop(std::move(s));
}

int loop::native_handle() const noexcept { return state_->epfd; }

tl::expected<void, error> loop::run() {
    state_->stopping = false;
    while (!state_->stopping) {
        if (auto r = run_once(); !r) return r;
    }
    return {};
}

tl::expected<void, error> loop::run_once(std::optional<duration> max_wait) {
    state_->arm();
    int timeout_ms = -1;
    if (max_wait) {
        timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*max_wait).count());
        if (timeout_ms < 0) timeout_ms = 0;
    }
    epoll_event events[64];
    const int n = ::epoll_wait(state_->epfd, events, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return {};
        return os_error("epoll_wait");
    }
    bool timer = false;
    for (int i = 0; i < n; ++i) {
        // epoll_event is packed on x86-64: copy its members out rather than bind references.
        const std::uint64_t token = events[i].data.u64;
        const std::uint32_t ready = events[i].events;
        if (token == timer_token) {
            timer = true;
            continue;
        }
        if (auto it = state_->by_token.find(token); it != state_->by_token.end()) it->second->on_ready(ready);
    }
    // Deadlines are also checked without the timer firing: a source may have moved its deadline
    // into the past while dispatching.
    if (timer || n == 0 || (state_->armed && *state_->armed <= clock::now())) state_->fire_deadlines();
    state_->arm();
    return {};
}

void loop::stop() noexcept { state_->stopping = true; }

tl::expected<void, error> loop::add(int fd, std::uint32_t events, source* s) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = state_->token_of(s);
    if (::epoll_ctl(state_->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return os_error("epoll_ctl(ADD)");
    return {};
}

tl::expected<void, error> loop::modify(int fd, std::uint32_t events, source* s) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = state_->token_of(s);
    if (::epoll_ctl(state_->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) return os_error("epoll_ctl(MOD)");
    return {};
}

void loop::remove(int fd, source*) noexcept { ::epoll_ctl(state_->epfd, EPOLL_CTL_DEL, fd, nullptr); }

void loop::watch(source* s) { state_->token_of(s); }

void loop::unwatch(source* s) noexcept {
    if (auto it = state_->tokens.find(s); it != state_->tokens.end()) {
        state_->by_token.erase(it->second);
        state_->tokens.erase(it);
    }
}

}  // namespace qwire::epoll
