/// \file
/// \brief Converting between Qt's QJsonValue and nlohmann::json.
///
/// The QMP core speaks nlohmann::json; Qt code speaks QJsonValue. These functions convert one
/// into the other, value by value, without going through text. They never throw (apart from
/// std::bad_alloc) and accept every value.
///
/// ~~~{.txt}
///   nlohmann::json            QJsonValue                   back to nlohmann::json
///   null                      Null                         null
///   boolean                   Bool                         boolean
///   number_integer            Double holding a qint64      number_integer (all 64 bits kept)
///   number_unsigned <= 2^63-1 Double holding a qint64      number_integer (equal under ==)
///   number_unsigned >  2^63-1 Double (a double: rounded)   number_float   (precision lost)
///   number_float              Double                       number_float, or number_integer when
///                                                          the value is integral: Qt stores
///                                                          integral doubles as integers (equal
///                                                          under ==, but 1.0 dumps as 1)
///   string (UTF-8)            String (UTF-16)              string; invalid UTF-8 became U+FFFD
///   array, object             Array, Object                array, object (keys sorted in both)
///   binary, discarded         Null                         null (parsing JSON never makes them)
///                             Undefined                    null
/// ~~~
///
/// So every value parsed from QMP text comes back equal (nlohmann's ==), except unsigned integers
/// above 2^63-1, which QJsonValue cannot hold exactly (QJsonDocument rounds them the same way).
#pragma once

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QJsonValue>

#include <nlohmann/json.hpp>

#include "qwire/export.hpp"

namespace qwire::qt {

/// The QJsonValue for a JSON value, by the table above.
[[nodiscard]] QWIRE_API QJsonValue toQJsonValue(const nlohmann::json& value);

/// The QJsonObject for a JSON object; an empty one for anything else (null included).
[[nodiscard]] QWIRE_API QJsonObject toQJsonObject(const nlohmann::json& value);

/// The nlohmann::json for a QJsonValue, by the table above.
[[nodiscard]] QWIRE_API nlohmann::json toJson(const QJsonValue& value);
/// The same for an object.
[[nodiscard]] QWIRE_API nlohmann::json toJson(const QJsonObject& object);
/// The same for an array.
[[nodiscard]] QWIRE_API nlohmann::json toJson(const QJsonArray& array);

}  // namespace qwire::qt
