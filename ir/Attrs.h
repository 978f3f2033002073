//===- Attrs.h - Op attributes ---------------------------------*- C++ -*-===//
//
// Attributes are a sorted map from name to a small variant, so printing is
// deterministic and the parser can round-trip them exactly.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace netc {

/// An attribute value: integer, float, string, or a list of integers (shapes,
/// axes, permutations; kBatch prints as N).
using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>>;

class Attrs {
public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> init) : map_(init) {}

  bool has(const std::string &k) const { return map_.count(k) != 0; }
  void set(const std::string &k, AttrValue v) { map_[k] = std::move(v); }

  /// Typed getters. They return the fallback when the key is missing or has
  /// another type; the verifier reports such attributes through the shape rule.
  int64_t get_int(const std::string &k, int64_t fallback = 0) const;
  double get_float(const std::string &k, double fallback = 0) const;
  std::string get_str(const std::string &k) const;
  std::vector<int64_t> get_ints(const std::string &k) const;

  bool is_int(const std::string &k) const;
  bool is_float(const std::string &k) const;
  bool is_str(const std::string &k) const;
  bool is_ints(const std::string &k) const;

  const std::map<std::string, AttrValue> &map() const { return map_; }
  bool empty() const { return map_.empty(); }
  bool operator==(const Attrs &) const = default;
  bool operator<(const Attrs &o) const { return map_ < o.map_; }

private:
  std::map<std::string, AttrValue> map_;
};

/// The text form of one attribute value, as the printer writes it:
/// 3, 0.5 (always with '.', 'e', "inf" or "nan" so it reads back as float),
/// "name", [N, 784].
std::string attr_value_str(const AttrValue &v);

} // namespace netc
