//===- Attrs.cpp - Op attributes ------------------------------------------===//
#include "ir/Attrs.h"

#include "ir/Types.h"

#include <cmath>
#include <fmt/format.h>

namespace netc {

int64_t Attrs::get_int(const std::string &k, int64_t fallback) const {
  auto it = map_.find(k);
  if (it == map_.end())
    return fallback;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return *v;
  return fallback;
}

double Attrs::get_float(const std::string &k, double fallback) const {
  auto it = map_.find(k);
  if (it == map_.end())
    return fallback;
  if (auto *v = std::get_if<double>(&it->second))
    return *v;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return static_cast<double>(*v);
  return fallback;
}

std::string Attrs::get_str(const std::string &k) const {
  auto it = map_.find(k);
  if (it == map_.end())
    return {};
  if (auto *v = std::get_if<std::string>(&it->second))
    return *v;
  return {};
}

std::vector<int64_t> Attrs::get_ints(const std::string &k) const {
  auto it = map_.find(k);
  if (it == map_.end())
    return {};
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  return {};
}

bool Attrs::is_int(const std::string &k) const {
  auto it = map_.find(k);
  return it != map_.end() && std::holds_alternative<int64_t>(it->second);
}
bool Attrs::is_float(const std::string &k) const {
  auto it = map_.find(k);
  return it != map_.end() && std::holds_alternative<double>(it->second);
}
bool Attrs::is_str(const std::string &k) const {
  auto it = map_.find(k);
  return it != map_.end() && std::holds_alternative<std::string>(it->second);
}
bool Attrs::is_ints(const std::string &k) const {
  auto it = map_.find(k);
  return it != map_.end() && std::holds_alternative<std::vector<int64_t>>(it->second);
}

std::string attr_value_str(const AttrValue &v) {
  if (auto *i = std::get_if<int64_t>(&v))
    return std::to_string(*i);
  if (auto *d = std::get_if<double>(&v)) {
    if (std::isnan(*d))
      return "nan";
    if (std::isinf(*d))
      return *d > 0 ? "inf" : "-inf";
    // Shortest text that reads back to the same double.
    std::string s = fmt::format("{}", *d);
    if (s.find_first_of(".e") == std::string::npos)
      s += ".0";
    return s;
  }
  if (auto *s = std::get_if<std::string>(&v)) {
    std::string out = "\"";
    for (char c : *s) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    return out + "\"";
  }
  return shape_str(std::get<std::vector<int64_t>>(v));
}

} // namespace netc
