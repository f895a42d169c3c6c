// Groups: listing the arrays of a v2/v3 group (consolidated or not), and writing a group with
// its metadata committed last.
#include <algorithm>
#include <fmt/format.h>

#include "cubist/zarr.hpp"
#include "zarr/internal.hpp"

namespace cubist::zarr {
using nlohmann::json;
using detail::join_path;

namespace {

std::string where_of(const Store& s, std::string_view key) { return fmt::format("{}/{}", s.describe(), key); }

std::optional<json> get_json(const Store& s, const std::string& key) {
  auto b = s.get(key);
  if (!b) return std::nullopt;
  return parse_json(b->as_string(), where_of(s, key));
}

bool is_child_name(std::string_view n) { return !n.empty() && n.find('/') == std::string_view::npos; }

}  // namespace

ZarrGroup ZarrGroup::open(std::string_view path_or_url, OpenOptions options) {
  return open(open_store(path_or_url), "", options);
}

ZarrGroup ZarrGroup::open(std::shared_ptr<Store> store, std::string path, OpenOptions options) {
  if (!store) throw ValueError("zarr: null store");
  auto where = store->describe();
  try {
    return ZarrGroup::open_impl(std::move(store), std::move(path), options);
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("zarr: invalid group metadata in '{}' ({})", where, e.what()));
  }
}

ZarrGroup ZarrGroup::open_impl(std::shared_ptr<Store> store, std::string path, OpenOptions options) {
  validate_prefix(path);
  ZarrGroup g;
  g.store_ = store;
  g.path_ = path;
  auto key = [&](std::string_view name) { return join_path(path, name); };
  // Collects one array, skipping dtypes cubist cannot represent unless strict.
  auto add = [&](const std::string& name, auto&& make_meta) {
    try {
      g.arrays_[name] = ZarrArray::from_metadata(store, join_path(path, name), make_meta());
    } catch (const TypeError& e) {
      if (options.strict) throw;
      g.skipped_.push_back({name, e.what()});
    }
  };

  if (auto zj = get_json(*store, key("zarr.json"))) {  // Zarr v3
    auto where = where_of(*store, key("zarr.json"));
    g.zarr_format_ = 3;
    if (!zj->is_object() || zj->value("zarr_format", json()) != 3)
      throw ValueError(fmt::format("{}: field 'zarr_format': expected 3", where));
    if (zj->value("node_type", json()) != "group")
      throw ValueError(fmt::format("{}: field 'node_type': expected \"group\" (open arrays with ZarrArray::open)", where));
    g.attrs_ = zj->value("attributes", json::object());
    const json* consolidated = nullptr;
    if (zj->contains("consolidated_metadata") && (*zj)["consolidated_metadata"].is_object() &&
        (*zj)["consolidated_metadata"].contains("metadata"))
      consolidated = &(*zj)["consolidated_metadata"]["metadata"];
    if (options.consolidated == true && !consolidated)
      throw ValueError(fmt::format("{}: no consolidated metadata (field 'consolidated_metadata')", where));
    if (consolidated && options.consolidated != false) {
      if (!consolidated->is_object()) throw ValueError(fmt::format("{}: field 'consolidated_metadata.metadata': must be an object", where));
      g.consolidated_ = true;
      for (const auto& [name, node] : consolidated->items())
        if (is_child_name(name) && node.is_object() && node.value("node_type", json()) == "array")
          add(name, [&] { return parse_array_metadata_v3(node, fmt::format("{} (consolidated '{}')", where, name)); });
    } else {
      for (const auto& name : store->list_dir(path)) {
        if (name.starts_with(".")) continue;
        auto child = get_json(*store, key(name + "/zarr.json"));
        if (child && child->is_object() && child->value("node_type", json()) == "array")
          add(name, [&] { return parse_array_metadata_v3(*child, where_of(*store, key(name + "/zarr.json"))); });
      }
    }
  } else {  // Zarr v2
    g.zarr_format_ = 2;
    std::optional<json> zmeta;
    if (options.consolidated != false) zmeta = get_json(*store, key(".zmetadata"));
    if (options.consolidated == true && !zmeta)
      throw ValueError(fmt::format("{}: no consolidated metadata", where_of(*store, key(".zmetadata"))));
    if (zmeta) {
      auto where = where_of(*store, key(".zmetadata"));
      if (!zmeta->is_object() || !zmeta->contains("metadata") || !(*zmeta)["metadata"].is_object())
        throw ValueError(fmt::format("{}: field 'metadata': missing or not an object", where));
      const auto& md = (*zmeta)["metadata"];
      if (!md.contains(".zgroup")) throw ValueError(fmt::format("{}: field 'metadata': no '.zgroup' entry", where));
      g.consolidated_ = true;
      g.attrs_ = md.value(".zattrs", json::object());
      for (const auto& [k, v] : md.items()) {
        if (!k.ends_with("/.zarray")) continue;
        auto name = k.substr(0, k.size() - 8);
        if (!is_child_name(name)) continue;
        if (is_string_dtype(v)) {
          g.add_strings(name, v, md.value(name + "/.zattrs", json()));
          continue;
        }
        add(name, [&] {
          return parse_array_metadata_v2(v, md.value(name + "/.zattrs", json()), fmt::format("{} (entry '{}')", where, k));
        });
      }
    } else {
      if (!store->exists(key(".zgroup"))) {
        if (store->exists(key(".zarray")))
          throw ValueError(fmt::format("zarr: '{}' is an array, not a group", where_of(*store, path)));
        throw KeyError(fmt::format("zarr: no Zarr group at '{}' (no .zgroup, .zmetadata or zarr.json)", where_of(*store, path)));
      }
      auto zg = get_json(*store, key(".zgroup"));
      if (!zg->is_object() || zg->value("zarr_format", json()) != 2)
        throw ValueError(fmt::format("{}: field 'zarr_format': expected 2", where_of(*store, key(".zgroup"))));
      if (auto a = get_json(*store, key(".zattrs"))) g.attrs_ = *a;
      for (const auto& name : store->list_dir(path)) {
        if (name.starts_with(".")) continue;
        auto za = get_json(*store, key(name + "/.zarray"));
        if (!za) continue;
        auto attrs = get_json(*store, key(name + "/.zattrs"));
        if (is_string_dtype(*za)) {
          g.add_strings(name, *za, attrs ? *attrs : json());
          continue;
        }
        add(name, [&] { return parse_array_metadata_v2(*za, attrs ? *attrs : json(), where_of(*store, key(name + "/.zarray"))); });
      }
    }
  }
  if (!g.attrs_.is_object()) throw ValueError(fmt::format("zarr: group attributes of '{}' must be a JSON object", where_of(*store, path)));
  for (const auto& [name, _] : g.arrays_) g.names_.push_back(name);
  return g;
}

void ZarrGroup::add_strings(const std::string& name, json zarray, json zattrs) {
  skipped_.push_back({name, fmt::format("fixed-width string dtype {} (only string coordinates are loaded)", zarray["dtype"].dump())});
  strings_[name] = {std::move(zarray), std::move(zattrs)};
}

std::vector<std::string> ZarrGroup::string_array_names() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : strings_) names.push_back(n);
  return names;
}

StringArray ZarrGroup::read_strings(std::string_view name) const {
  auto it = strings_.find(name);
  if (it == strings_.end())
    throw KeyError(fmt::format("zarr: no string array '{}' in '{}'", name, store_ ? store_->describe() : std::string("?")));
  return read_string_array(*store_, join_path(path_, it->first), it->second.first, it->second.second);
}

const std::shared_ptr<const ZarrArray>& ZarrGroup::array(std::string_view name) const {
  auto it = arrays_.find(name);
  if (it == arrays_.end())
    throw KeyError(fmt::format("zarr: no array '{}' in '{}'", name, store_ ? store_->describe() : std::string("?")));
  return it->second;
}

// ---- writing ---------------------------------------------------------------------------------

WriteMode parse_write_mode(std::string_view mode) {
  if (mode == "w") return WriteMode::Overwrite;
  if (mode == "w-") return WriteMode::CreateOnly;
  if (mode == "a") return WriteMode::Append;
  throw ValueError(fmt::format("zarr: unknown write mode '{}' (expected \"w\", \"w-\" or \"a\")", mode));
}

namespace {
// Written before the first chunk of a new store and erased after its metadata: a write that died
// half way leaves a directory that "w" may replace (it is ours), while nothing advertises it as a
// Zarr store. Zarr readers ignore unknown keys.
constexpr const char* kIncompleteMarker = ".cubist-incomplete";

bool has_zarr_metadata(const Store& s) {
  for (const char* k : {".zgroup", ".zmetadata", "zarr.json", ".zarray"})
    if (s.exists(k)) return true;
  return false;
}
}  // namespace

ZarrWriter::ZarrWriter(std::string_view path, WriteMode mode, int zarr_format, bool consolidated)
    : ZarrWriter(open_store(path), mode, zarr_format, consolidated) {}

ZarrWriter::ZarrWriter(std::shared_ptr<Store> store, WriteMode mode, int zarr_format, bool consolidated)
    : store_(std::move(store)), zarr_format_(zarr_format), consolidated_(consolidated) {
  if (!store_) throw ValueError("zarr: null store");
  if (zarr_format != 2 && zarr_format != 3) throw ValueError(fmt::format("zarr: zarr_format must be 2 or 3, got {}", zarr_format));
  bool is_zarr = has_zarr_metadata(*store_);
  bool empty = store_->list_dir("").empty();
  switch (mode) {
    case WriteMode::CreateOnly:
      if (!empty) throw Error(fmt::format("zarr: '{}' already exists (mode \"w-\" refuses to overwrite)", store_->describe()));
      break;
    case WriteMode::Overwrite:
      if (!empty && !is_zarr && !store_->exists(kIncompleteMarker))
        throw Error(fmt::format("zarr: refusing to overwrite '{}': it is not empty and not a Zarr store", store_->describe()));
      // Un-advertise first (consolidated metadata, then group metadata), then remove everything.
      for (const char* k : {".zmetadata", "zarr.json", ".zgroup"}) store_->erase(k);
      store_->erase_prefix("");
      break;
    case WriteMode::Append:
      if (is_zarr) {
        auto g = ZarrGroup::open(store_, "", OpenOptions{.consolidated = false, .strict = true});
        zarr_format_ = g.zarr_format();
        attrs_ = g.attributes();
        for (const auto& n : g.array_names()) arrays_[n] = g.array(n);
        for (const auto& n : g.string_array_names()) strings_[n] = g.strings_.at(n);
      } else if (!empty) {
        throw Error(fmt::format("zarr: cannot append to '{}': it is not empty and not a Zarr store", store_->describe()));
      }
      break;
  }
  if (mode != WriteMode::Append || !is_zarr)
    store_->set(kIncompleteMarker, std::string_view("cubist is writing this store; it is complete when this file is gone\n"));
}

std::shared_ptr<const ZarrArray> ZarrWriter::create_array(const std::string& name, ArrayMetadata metadata) {
  validate_key(name);
  if (name.find('/') != std::string::npos || name.starts_with(".") || name == "zarr.json")
    throw ValueError(fmt::format("zarr: invalid array name '{}'", name));
  if (arrays_.count(name))
    throw ValueError(fmt::format("zarr: array '{}' already exists in '{}'", name, store_->describe()));
  if (metadata.zarr_format != zarr_format_)
    throw ValueError(fmt::format("zarr: array '{}' has zarr_format {} in a v{} store", name, metadata.zarr_format, zarr_format_));
  if (!metadata.dimension_names.empty() && metadata.dimension_names.size() != metadata.shape.size())
    throw DimensionError(fmt::format("zarr: array '{}': {} dimension names for rank {}", name,
                                     metadata.dimension_names.size(), metadata.shape.size()));
  metadata.fill_value = detail::normalize_fill_value(metadata.fill_value);
  auto a = ZarrArray::from_metadata(store_, name, std::move(metadata));
  arrays_[name] = a;
  return a;
}

std::shared_ptr<const ZarrArray> ZarrWriter::existing_array(const std::string& name) const {
  auto it = arrays_.find(name);
  if (it == arrays_.end()) throw KeyError(fmt::format("zarr: no array '{}' in '{}'", name, store_->describe()));
  return it->second;
}

std::shared_ptr<const ZarrArray> ZarrWriter::append_array(const std::string& name, const std::string& dim,
                                                          const ArrayMetadata& expected) {
  auto old = existing_array(name);
  const auto& m = old->metadata();
  if (m.dimension_names != expected.dimension_names)
    throw DimensionError(fmt::format("zarr: cannot append to '{}': dims ({}) differ from the store's ({})", name,
                                     fmt::join(expected.dimension_names, ", "), fmt::join(m.dimension_names, ", ")));
  if (m.dtype != expected.dtype)
    throw TypeError(fmt::format("zarr: cannot append {} values to '{}' of dtype {}", dtype_name(expected.dtype), name,
                                dtype_name(m.dtype)));
  auto it = std::find(m.dimension_names.begin(), m.dimension_names.end(), dim);
  if (it == m.dimension_names.end())
    throw DimensionError(fmt::format("zarr: cannot append to '{}' along '{}': not one of its dims", name, dim));
  auto axis = static_cast<std::size_t>(it - m.dimension_names.begin());
  if (expected.shape.size() != m.shape.size())
    throw DimensionError(fmt::format("zarr: cannot append to '{}': rank {} differs from {}", name, expected.shape.size(), m.shape.size()));
  for (std::size_t a = 0; a < m.shape.size(); ++a)
    if (a != axis && expected.shape[a] != m.shape[a])
      throw DimensionError(fmt::format("zarr: cannot append to '{}': dimension '{}' has size {}, the store has {}", name,
                                       m.dimension_names[a], expected.shape[a], m.shape[a]));
  ArrayMetadata grown = m;
  grown.shape[axis] += expected.shape[axis];
  auto a = ZarrArray::from_metadata(store_, name, std::move(grown));
  arrays_[name] = a;
  return a;
}

bool ZarrWriter::write_strings(const std::string& name, const StringArray& a) {
  validate_key(name);
  if (name.find('/') != std::string::npos || name.starts_with(".") || name == "zarr.json")
    throw ValueError(fmt::format("zarr: invalid array name '{}'", name));
  if (zarr_format_ != 2)
    throw TypeError(fmt::format("zarr: string array '{}': fixed-width strings are only written to Zarr v2 stores", name));
  if (strings_.count(name)) return false;
  if (arrays_.count(name)) throw ValueError(fmt::format("zarr: array '{}' already exists in '{}'", name, store_->describe()));
  strings_[name] = write_string_array(*store_, name, a);
  return true;
}

void ZarrWriter::set_attributes(json attributes) {
  if (!attributes.is_object()) throw ValueError("zarr: group attributes must be a JSON object");
  attrs_ = std::move(attributes);
}

void ZarrWriter::commit() {
  if (zarr_format_ == 2) {
    json consolidated = json::object();
    for (const auto& [name, a] : arrays_) {
      auto za = to_zarray(a->metadata());
      auto zattrs = to_zattrs(a->metadata());
      store_->set(name + "/.zarray", dump_json(za));
      store_->set(name + "/.zattrs", dump_json(zattrs));
      consolidated[name + "/.zarray"] = za;
      consolidated[name + "/.zattrs"] = zattrs;
    }
    for (const auto& [name, meta] : strings_) {
      store_->set(name + "/.zarray", dump_json(meta.first));
      store_->set(name + "/.zattrs", dump_json(meta.second));
      consolidated[name + "/.zarray"] = meta.first;
      consolidated[name + "/.zattrs"] = meta.second;
    }
    json zgroup = {{"zarr_format", 2}};
    store_->set(".zattrs", dump_json(attrs_));
    store_->set(".zgroup", dump_json(zgroup));
    consolidated[".zattrs"] = attrs_;
    consolidated[".zgroup"] = zgroup;
    if (consolidated_)  // last: its presence advertises the whole store
      store_->set(".zmetadata", dump_json(json{{"metadata", consolidated}, {"zarr_consolidated_format", 1}}));
  } else {
    json inline_meta = json::object();
    for (const auto& [name, a] : arrays_) {
      auto zj = to_zarr_json(a->metadata());
      store_->set(name + "/zarr.json", dump_json(zj));
      inline_meta[name] = zj;
    }
    json root = {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", attrs_}};
    if (consolidated_)
      root["consolidated_metadata"] = {{"kind", "inline"}, {"must_understand", false}, {"metadata", inline_meta}};
    store_->set("zarr.json", dump_json(root));  // last
  }
  store_->erase(kIncompleteMarker);  // no-op when appending to a finished store
}

}  // namespace cubist::zarr
