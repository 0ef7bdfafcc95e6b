// QEMU's JSON dialect, the writing half: QDict and GLib orders and the writer (the reader is in
// qemu_json_read.cpp); see the header. Described from QEMU 7.2's qobject/json-writer.c,
// qobject/qdict.c and GLib 2.74's ghash.c, and checked byte for byte against a running QEMU 7.2.
#include "qmp/qemu_json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "qmp/schema_model.hpp"

namespace qwire::qmp::qemu {

// --- QDict and GLib orders -------------------------------------------------------------------

unsigned bucket_of(std::string_view key) noexcept {
    // tdb_hash over the modified UTF-8 bytes (a NUL is C0 80 there).
    std::size_t len = key.size() + static_cast<std::size_t>(std::count(key.begin(), key.end(), '\0'));
    std::uint32_t value = 0x238F13AFu * static_cast<std::uint32_t>(len);
    std::uint32_t i = 0;
    auto add = [&](unsigned char c) {
        value = value + (static_cast<std::uint32_t>(c) << (i * 5 % 24));
        ++i;
    };
    for (unsigned char c : key) {
        if (c == 0) {
            add(0xC0);
            add(0x80);
        } else {
            add(c);
        }
    }
    return (1103515243u * value + 12345u) % 512u;
}

std::vector<std::size_t> qdict_order(const std::vector<std::string_view>& keys) {
    std::vector<std::size_t> order(keys.size());
    std::vector<unsigned> buckets(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        order[i] = i;
        buckets[i] = bucket_of(keys[i]);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (buckets[a] != buckets[b]) return buckets[a] < buckets[b];
        return a > b;  // QLIST_INSERT_HEAD: the newest member of a bucket comes first
    });
    return order;
}

namespace {

// GLib 2.74's GHashTable with g_str_hash/g_str_equal, as far as insertion, removal, resizing
// and iteration go (open addressing, quadratic probing, tombstones, in-place rehash).
class glib_table {
public:
    glib_table() { set_shift(3); hashes_.assign(size_, 0); slots_.assign(size_, npos); }

    void insert(std::size_t key, std::string_view text) {
        const auto [index, hash] = lookup(text);
        const std::uint32_t old = hashes_[index];
        if (old >= 2) return;
        hashes_[index] = hash;
        slots_[index] = key;
        ++nnodes_;
        if (old == 0) {
            ++noccupied_;
            maybe_resize();
        }
    }

    void remove(std::string_view text) {
        const auto [index, hash] = lookup(text);
        if (hashes_[index] < 2) return;
        hashes_[index] = 1;  // tombstone
        slots_[index] = npos;
        --nnodes_;
        maybe_resize();
    }

    std::optional<std::size_t> first() const {
        for (std::size_t i = 0; i < size_; ++i) {
            if (hashes_[i] >= 2) return slots_[i];
        }
        return std::nullopt;
    }

    std::vector<std::string_view> texts;  // key index -> text, for equality checks

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::uint32_t prime_mod[] = {
        1,        2,        3,         7,         13,        31,        61,         127,
        251,      509,      1021,      2039,      4093,      8191,      16381,      32749,
        65521,    131071,   262139,    524287,    1048573,   2097143,   4194301,    8388593,
        16777213, 33554393, 67108859,  134217689, 268435399, 536870909, 1073741789, 2147483647};

    static std::uint32_t str_hash(std::string_view s) {
        std::uint32_t h = 5381;
        for (char c : s) h = h * 33 + static_cast<std::uint32_t>(static_cast<signed char>(c));
        return h < 2 ? 2 : h;
    }

    std::uint32_t index_of(std::uint32_t hash) const { return (hash * 11u) % mod_; }

    void set_shift(unsigned shift) {
        size_ = std::size_t{1} << shift;
        mod_ = prime_mod[shift];
        mask_ = static_cast<std::uint32_t>(size_ - 1);
    }

    std::pair<std::size_t, std::uint32_t> lookup(std::string_view text) const {
        const std::uint32_t hash = str_hash(text);
        std::uint32_t index = index_of(hash);
        std::uint32_t step = 0;
        std::optional<std::uint32_t> tombstone;
        while (hashes_[index] != 0) {
            if (hashes_[index] == hash) {
                if (slots_[index] != npos && texts[slots_[index]] == text) return {index, hash};
            } else if (hashes_[index] == 1 && !tombstone) {
                tombstone = index;
            }
            ++step;
            index = (index + step) & mask_;
        }
        return {tombstone ? *tombstone : index, hash};
    }

    void maybe_resize() {
        if ((size_ > nnodes_ * 4 && size_ > 8) || size_ <= noccupied_ + noccupied_ / 16) resize();
    }

    void resize() {
        const std::size_t old_size = size_;
        int n = static_cast<int>(static_cast<double>(nnodes_) * 1.333);
        unsigned shift = 0;
        for (; n; n >>= 1) ++shift;
        set_shift(std::max(shift, 3u));
        if (size_ > old_size) {
            hashes_.resize(size_, 0);
            slots_.resize(size_, npos);
        }
        std::vector<bool> relocated(std::max(size_, old_size), false);
        for (std::size_t i = 0; i < old_size; ++i) {
            std::uint32_t node_hash = hashes_[i];
            if (node_hash < 2) {
                hashes_[i] = 0;
                continue;
            }
            if (relocated[i]) continue;
            hashes_[i] = 0;
            std::size_t key = slots_[i];
            slots_[i] = npos;
            for (;;) {
                std::uint32_t index = index_of(node_hash);
                std::uint32_t step = 0;
                while (relocated[index]) {
                    ++step;
                    index = (index + step) & mask_;
                }
                relocated[index] = true;
                const std::uint32_t replaced = hashes_[index];
                hashes_[index] = node_hash;
                if (replaced < 2) {
                    slots_[index] = key;
                    break;
                }
                node_hash = replaced;
                std::swap(key, slots_[index]);
            }
        }
        if (size_ < old_size) {
            hashes_.resize(size_);
            slots_.resize(size_);
        }
        noccupied_ = nnodes_;
    }

    std::size_t size_ = 0;
    std::uint32_t mod_ = 0;
    std::uint32_t mask_ = 0;
    std::vector<std::uint32_t> hashes_;  // 0 unused, 1 tombstone, else the key's hash
    std::vector<std::size_t> slots_;     // key index per slot
    std::size_t nnodes_ = 0;
    std::size_t noccupied_ = 0;
};

}  // namespace

std::optional<std::size_t> glib_first_remaining(const std::vector<std::string_view>& keys,
                                                const std::vector<std::size_t>& removed) {
    glib_table table;
    table.texts = keys;
    for (std::size_t i = 0; i < keys.size(); ++i) table.insert(i, keys[i]);
    for (std::size_t i : removed) table.remove(keys[i]);
    return table.first();
}

// --- writer ----------------------------------------------------------------------------------

void writer::newline() {
    out_ += '\n';
    out_.append(is_array_.size() * 4, ' ');
}

void writer::before_value() {
    if (need_comma_) {
        out_ += ',';
        if (pretty_) {
            newline();
        } else {
            out_ += ' ';
        }
    } else {
        if (!out_.empty() && pretty_) newline();
        need_comma_ = true;
    }
    if (!is_array_.empty() && !is_array_.back()) {
        quoted(pending_key_);
        out_ += ": ";
    }
}

void writer::key(std::string_view name) {
    pending_key_ = name;
}

void writer::begin_object() {
    before_value();
    out_ += '{';
    is_array_.push_back(false);
    need_comma_ = false;
}

void writer::end_object() {
    is_array_.pop_back();
    need_comma_ = true;
    if (pretty_) newline();
    out_ += '}';
}

void writer::string(std::string_view s) {
    before_value();
    quoted(s);
}

void writer::quoted(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    auto u = [&](long cp) {
        out_ += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out_ += hex[(cp >> shift) & 0xF];
    };
    out_ += '"';
    for (std::size_t i = 0; i < s.size();) {
        std::size_t next = 0;
        long cp = decode_codepoint(s, i, next);
        i = next;
        switch (cp) {
            case '"': out_ += "\\\""; break;
            case '\\': out_ += "\\\\"; break;
            case '\b': out_ += "\\b"; break;
            case '\f': out_ += "\\f"; break;
            case '\n': out_ += "\\n"; break;
            case '\r': out_ += "\\r"; break;
            case '\t': out_ += "\\t"; break;
            default:
                if (cp < 0) cp = 0xFFFD;
                if (cp > 0xFFFF) {
                    u(0xD800 + ((cp - 0x10000) >> 10));
                    u(0xDC00 + ((cp - 0x10000) & 0x3FF));
                } else if (cp < 0x20 || cp >= 0x7F) {
                    u(cp);
                } else {
                    out_ += static_cast<char>(cp);
                }
        }
    }
    out_ += '"';
}

template <class Json>
void writer::value(const Json& v, const detail::type_node* type) {
    type = detail::resolve_alternate(type, v);
    switch (v.type()) {
        case nlohmann::json::value_t::object: {
            // QDict order of the members, inserted in schema order (else in the value's order).
            std::vector<std::string_view> names;
            std::vector<std::size_t> rank;
            std::vector<const Json*> values;
            names.reserve(v.size());
            const detail::member_list members = detail::members_of(type, v);
            for (auto it = v.begin(); it != v.end(); ++it) {
                names.push_back(it.key());
                values.push_back(&it.value());
            }
            std::vector<std::size_t> insertion(names.size());
            for (std::size_t i = 0; i < names.size(); ++i) {
                const std::size_t at = members.rank_of(names[i]);
                insertion[i] = at == detail::member_list::npos ? members.size() + i : at;
            }
            // qdict_order wants keys in insertion order: sort indices by insertion rank first.
            std::vector<std::size_t> by_insertion(names.size());
            for (std::size_t i = 0; i < by_insertion.size(); ++i) by_insertion[i] = i;
            std::sort(by_insertion.begin(), by_insertion.end(),
                      [&](std::size_t a, std::size_t b) { return insertion[a] < insertion[b]; });
            std::vector<std::string_view> inserted;
            inserted.reserve(names.size());
            for (std::size_t i : by_insertion) inserted.push_back(names[i]);
            begin_object();
            for (std::size_t k : qdict_order(inserted)) {
                const std::size_t i = by_insertion[k];
                key(names[i]);
                value(*values[i], members.type_of(names[i]));
            }
            end_object();
            return;
        }
        case nlohmann::json::value_t::array: {
            before_value();
            out_ += '[';
            is_array_.push_back(true);
            need_comma_ = false;
            const detail::type_node* element = detail::element_of(type);
            for (const auto& e : v) value(e, element);
            is_array_.pop_back();
            need_comma_ = true;
            if (pretty_) newline();
            out_ += ']';
            return;
        }
        case nlohmann::json::value_t::string:
            string(v.template get_ref<const typename Json::string_t&>());
            return;
        case nlohmann::json::value_t::boolean:
            before_value();
            out_ += v.template get<bool>() ? "true" : "false";
            return;
        case nlohmann::json::value_t::number_integer:
            before_value();
            out_ += std::to_string(v.template get<std::int64_t>());
            return;
        case nlohmann::json::value_t::number_unsigned:
            before_value();
            out_ += std::to_string(v.template get<std::uint64_t>());
            return;
        case nlohmann::json::value_t::number_float: {
            before_value();
            // "%.17g" in the C locale, whatever the process's locale is.
            std::array<char, 64> buf{};
            const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.template get<double>(),
                                         std::chars_format::general, 17);
            out_.append(buf.data(), r.ptr);
            return;
        }
        default:  // null, and binary (which JSON text never produces)
            before_value();
            out_ += "null";
            return;
    }
}

template void writer::value<nlohmann::json>(const nlohmann::json&, const detail::type_node*);
template void writer::value<ordered_json>(const ordered_json&, const detail::type_node*);

}  // namespace qwire::qmp::qemu
