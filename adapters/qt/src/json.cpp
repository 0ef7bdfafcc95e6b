#include "qwire/qt/json.hpp"

#include <cstdint>
#include <limits>

namespace qwire::qt {

using json = nlohmann::json;

QJsonValue toQJsonValue(const json& value) {
    switch (value.type()) {
        case json::value_t::boolean: return value.get<bool>();
        case json::value_t::number_integer: return static_cast<qint64>(value.get<std::int64_t>());
        case json::value_t::number_unsigned: {
            const auto u = value.get<std::uint64_t>();
            if (u <= static_cast<std::uint64_t>(std::numeric_limits<qint64>::max())) return static_cast<qint64>(u);
            return static_cast<double>(u);
        }
        case json::value_t::number_float: return value.get<double>();
        case json::value_t::string: {
            const auto& s = value.get_ref<const std::string&>();
            return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
        }
        case json::value_t::array: {
            QJsonArray array;
            for (const auto& element : value) array.append(toQJsonValue(element));
            return array;
        }
        case json::value_t::object: return toQJsonObject(value);
        case json::value_t::null:
        case json::value_t::binary:
        case json::value_t::discarded: break;
    }
    return QJsonValue(QJsonValue::Null);
}

QJsonObject toQJsonObject(const json& value) {
    QJsonObject object;
    if (!value.is_object()) return object;
    for (const auto& [key, member] : value.items()) {
        object.insert(QString::fromUtf8(key.data(), static_cast<qsizetype>(key.size())), toQJsonValue(member));
    }
    return object;
}

json toJson(const QJsonValue& value) {
    switch (value.type()) {
        case QJsonValue::Bool: return value.toBool();
        case QJsonValue::Double: {
            // Qt keeps integers (and integral doubles) as qint64 and answers toInteger() for
            // them whatever the default; for a non-integral double, toInteger() gives the
            // default. (For NaN Qt 6.4 answers INT64_MIN both times: the last test catches it.)
            const qint64 a = value.toInteger(0);
            const double d = value.toDouble();
            if (a == value.toInteger(1) && static_cast<double>(a) == d) return static_cast<std::int64_t>(a);
            return d;
        }
        case QJsonValue::String: return value.toString().toStdString();
        case QJsonValue::Array: return toJson(value.toArray());
        case QJsonValue::Object: return toJson(value.toObject());
        case QJsonValue::Null:
        case QJsonValue::Undefined: break;
    }
    return nullptr;
}

json toJson(const QJsonObject& object) {
    json out = json::object();
    for (auto it = object.begin(); it != object.end(); ++it) out.emplace(it.key().toStdString(), toJson(it.value()));
    return out;
}

json toJson(const QJsonArray& array) {
    json out = json::array();
    for (const auto& element : array) out.push_back(toJson(element));
    return out;
}

}  // namespace qwire::qt
