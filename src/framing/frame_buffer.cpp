#include "qwire/framing/frame_buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace qwire::framing_detail {
namespace {
// Storage grown beyond this for one huge frame is given back once that frame is done.
constexpr std::size_t keep_capacity = 1 << 20;
constexpr std::size_t min_capacity = 4096;
}  // namespace

tl::expected<void, error> check_drained(std::string_view unconsumed) {
    if (unconsumed.empty()) return {};
    return tl::unexpected(
        error(errc::invalid_state, "feed() before next() returned need_more for the previous input"));
}

byte_buffer::byte_buffer(byte_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

byte_buffer& byte_buffer::operator=(byte_buffer&& other) noexcept {
    if (this != &other) {
        release();
        swap(other);
    }
    return *this;
}

byte_buffer::~byte_buffer() { std::free(data_); }

void byte_buffer::append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (bytes.size() > capacity_ - size_) {
        std::size_t wanted = capacity_ < min_capacity ? min_capacity : capacity_;
        while (wanted - size_ < bytes.size()) wanted *= 2;
        void* grown = std::realloc(data_, wanted);
        if (grown == nullptr) throw std::bad_alloc();
        data_ = static_cast<char*>(grown);
        capacity_ = wanted;
    }
    std::memcpy(data_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
}

void byte_buffer::release() noexcept {
    std::free(std::exchange(data_, nullptr));
    size_ = 0;
    capacity_ = 0;
}

void byte_buffer::swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
}

std::string_view frame_buffer::complete(std::string_view last) {
    if (partial_.size() == 0) return last;
    partial_.append(last);
    done_.swap(partial_);
    if (partial_.capacity() > keep_capacity) {
        partial_.release();
    } else {
        partial_.clear();
    }
    return done_.view();
}

void frame_buffer::reset() noexcept {
    partial_.release();
    done_.release();
}

}  // namespace qwire::framing_detail
