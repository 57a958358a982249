// Op attributes: sorted insert and typed reads.
#include "ir/attrs.h"

#include <algorithm>
#include <bit>

#include "ir/diag.h"

namespace kiln {

Attrs::Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) {
  for (const auto &[key, value] : items) set(key, value);
}

bool operator==(const Attrs &a, const Attrs &b) {
  if (a.items_.size() != b.items_.size()) return false;
  for (size_t i = 0; i < a.items_.size(); ++i) {
    const auto &[ka, va] = a.items_[i];
    const auto &[kb, vb] = b.items_[i];
    if (ka != kb || va.index() != vb.index()) return false;
    const double *da = std::get_if<double>(&va);
    if (da != nullptr
            ? std::bit_cast<uint64_t>(*da) != std::bit_cast<uint64_t>(std::get<double>(vb))
            : va != vb)
      return false;
  }
  return true;
}

Attrs &Attrs::set(std::string_view key, AttrValue value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), key,
                             [](const auto &item, std::string_view k) { return item.first < k; });
  if (it != items_.end() && it->first == key)
    it->second = std::move(value);
  else
    items_.insert(it, {std::string(key), std::move(value)});
  return *this;
}

const AttrValue *Attrs::find(std::string_view key) const {
  for (const auto &item : items_)
    if (item.first == key) return &item.second;
  return nullptr;
}

namespace {
template <class T>
const T &expect(const AttrValue &v, std::string_view key, const char *want) {
  const T *p = std::get_if<T>(&v);
  KILN_CHECK(p != nullptr, "attribute '{}' is not {}", key, want);
  return *p;
}
}  // namespace

bool Attrs::get_bool(std::string_view key, bool fallback) const {
  const AttrValue *v = find(key);
  return v ? expect<bool>(*v, key, "a bool") : fallback;
}

int64_t Attrs::get_int(std::string_view key, int64_t fallback) const {
  const AttrValue *v = find(key);
  return v ? expect<int64_t>(*v, key, "an integer") : fallback;
}

double Attrs::get_double(std::string_view key, double fallback) const {
  const AttrValue *v = find(key);
  if (!v) return fallback;
  if (const int64_t *i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return expect<double>(*v, key, "a number");
}

std::vector<int64_t> Attrs::get_ints(std::string_view key) const {
  const AttrValue *v = find(key);
  return v ? expect<std::vector<int64_t>>(*v, key, "an integer list") : std::vector<int64_t>{};
}

DType Attrs::get_dtype(std::string_view key, DType fallback) const {
  const AttrValue *v = find(key);
  return v ? expect<DType>(*v, key, "a dtype") : fallback;
}

std::string Attrs::get_string(std::string_view key, std::string_view fallback) const {
  const AttrValue *v = find(key);
  return v ? expect<std::string>(*v, key, "a string") : std::string(fallback);
}

}  // namespace kiln
