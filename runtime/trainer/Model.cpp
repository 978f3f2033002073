//===- Model.cpp - A compiled model's slots, parameters and functions -----===//
//
// This file implements parsing of netc_model_json, slot allocation, batch
// binding (Halide dims and strides), parameter initialisation and calls into
// the generated step functions.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Model.h"

#include "ir/Init.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <limits>

namespace netc::rt {

namespace {

struct ElemInfo {
  ElemType type;
  const char *name, *st_name;
  size_t size;
  halide_type_code_t code;
};

constexpr ElemInfo kElemTypes[] = {
    {ElemType::F32, "f32", "F32", 4, halide_type_float},   {ElemType::F64, "f64", "F64", 8, halide_type_float},
    {ElemType::I32, "i32", "I32", 4, halide_type_int},     {ElemType::I64, "i64", "I64", 8, halide_type_int},
    {ElemType::U8, "u8", "U8", 1, halide_type_uint},       {ElemType::I8, "i8", "I8", 1, halide_type_int},
    {ElemType::Bool, "bool", "BOOL", 1, halide_type_uint},
};

const ElemInfo &info(ElemType t) {
  for (const ElemInfo &e : kElemTypes)
    if (e.type == t)
      return e;
  return kElemTypes[0];
}

/// Prefix for every error about the description itself: it comes from the
/// compiler, so a bad one is a netc bug rather than a user error.
Error json_error(const std::string &what) { return fail("invalid model description (netc_model_json): " + what); }

/// j[key] as an int in [0, limit), or an error naming `where`.
Expected<int> slot_index(const nlohmann::json &j, const char *key, size_t limit, const std::string &where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer())
    return json_error(fmt::format("{}: expected an integer `{}`", where, key));
  int64_t v = j[key].get<int64_t>();
  if (v < 0 || size_t(v) >= limit)
    return json_error(fmt::format("{}: slot {} is out of range (the model has {} slots)", where, v, limit));
  return int(v);
}

std::string string_at(const nlohmann::json &j, const char *key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

Expected<SlotDesc> parse_slot(const nlohmann::json &j, size_t index) {
  std::string where = fmt::format("slot {}", index);
  SlotDesc s;
  std::string dtype = string_at(j, "dtype");
  const ElemInfo *found = nullptr;
  for (const ElemInfo &e : kElemTypes)
    if (dtype == e.name)
      found = &e;
  if (!found)
    return json_error(fmt::format("{}: unknown dtype \"{}\"", where, dtype));
  s.type = found->type;
  if (!j.contains("shape") || !j["shape"].is_array())
    return json_error(where + ": expected a `shape` array");
  for (const nlohmann::json &d : j["shape"]) {
    if (!d.is_number_integer() || (d.get<int64_t>() < 1 && d.get<int64_t>() != kBatchDim))
      return json_error(fmt::format("{}: bad dimension {} (expected a positive size or -1 for N)", where, d.dump()));
    s.shape.push_back(d.get<int64_t>());
  }
  return s;
}

Expected<std::vector<SlotRef>> parse_refs(const nlohmann::json &j, const char *key, const char *name_key,
                                          size_t num_slots, const std::string &where) {
  std::vector<SlotRef> refs;
  if (!j.contains(key))
    return refs;
  if (!j[key].is_array())
    return json_error(fmt::format("{}: `{}` must be an array", where, key));
  for (const nlohmann::json &r : j[key]) {
    Expected<int> slot = slot_index(r, "slot", num_slots, where + "." + key);
    if (!slot)
      return Error{slot.error()};
    refs.push_back({string_at(r, name_key), *slot});
  }
  return refs;
}

Expected<ParamDesc> parse_param(const nlohmann::json &j, const ModelDesc &m) {
  ParamDesc p;
  p.name = string_at(j, "name");
  std::string where = "param `" + p.name + "`";
  std::string kind = string_at(j, "kind");
  if (p.name.empty() || (kind != "param" && kind != "state"))
    return json_error(fmt::format("{}: expected a name and kind \"param\" or \"state\", found {}", where, j.dump()));
  p.is_state = kind == "state";
  Expected<int> slot = slot_index(j, "slot", m.slots.size(), where);
  if (!slot)
    return Error{slot.error()};
  p.slot = *slot;
  if (m.slots[size_t(p.slot)].has_batch_dim())
    return json_error(where + ": a parameter cannot have the batch dimension N");
  const nlohmann::json attrs = j.contains("attrs") ? j["attrs"] : nlohmann::json::object();
  p.init = string_at(attrs, "init");
  if (!known_init(p.init))
    return json_error(fmt::format("{}: unknown init \"{}\"", where, p.init));
  if (attrs.contains("value") && attrs["value"].is_number())
    p.value = attrs["value"].get<double>();
  if (attrs.contains("stddev") && attrs["stddev"].is_number())
    p.stddev = attrs["stddev"].get<double>();
  p.init_from = string_at(attrs, "init.from");
  p.init_path = string_at(attrs, "init.path");
  p.init_tensor = string_at(attrs, "init.tensor");
  p.init_vocab = string_at(attrs, "init.vocab");
  if (!p.init_from.empty() && p.init_from != "safetensors" && p.init_from != "npy" && p.init_from != "glove")
    return json_error(fmt::format("{}: unknown init.from \"{}\"", where, p.init_from));
  if (!p.init_from.empty() && (p.init_path.empty() || m.slots[size_t(p.slot)].type != ElemType::F32))
    return json_error(fmt::format("{}: init.from needs an init.path and an f32 parameter", where));
  return p;
}

Expected<void> parse_functions(const nlohmann::json &j, ModelDesc &m) {
  if (!j.contains("functions"))
    return {};
  if (!j["functions"].is_object())
    return json_error("`functions` must be an object");
  for (const char *name : kFunctionNames) {
    if (!j["functions"].contains(name))
      continue;
    const nlohmann::json &f = j["functions"][name];
    FnDesc fn;
    fn.name = name;
    auto args = parse_refs(f, "args", "name", m.slots.size(), name);
    auto outs = parse_refs(f, "outputs", "name", m.slots.size(), name);
    auto ups = parse_refs(f, "updates", "param", m.slots.size(), name);
    for (const Expected<std::vector<SlotRef>> *r : {&args, &outs, &ups})
      if (!*r)
        return Error{r->error()};
    fn.args = std::move(*args), fn.outputs = std::move(*outs), fn.updates = std::move(*ups);
    m.functions.push_back(std::move(fn));
  }
  return {};
}

} // namespace

const char *elem_type_name(ElemType t) { return info(t).name; }
const char *elem_type_safetensors_name(ElemType t) { return info(t).st_name; }
size_t elem_type_size(ElemType t) { return info(t).size; }

bool SlotDesc::has_batch_dim() const { return std::count(shape.begin(), shape.end(), kBatchDim) > 0; }

std::vector<int64_t> SlotDesc::shape_at(int64_t batch) const {
  std::vector<int64_t> s = shape;
  for (int64_t &d : s)
    d = d == kBatchDim ? batch : d;
  return s;
}

/// The element of `items` whose `name` is `n`, or null.
template <class T> const T *find_named(const std::vector<T> &items, std::string_view n) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T &x) { return x.name == n; });
  return it == items.end() ? nullptr : &*it;
}

const SlotRef *FnDesc::output(std::string_view n) const { return find_named(outputs, n); }
const FnDesc *ModelDesc::function(std::string_view n) const { return find_named(functions, n); }
const ParamDesc *ModelDesc::param(std::string_view n) const { return find_named(params, n); }

int64_t ModelDesc::config_int(const std::string &key, int64_t fallback) const {
  if (!config.contains(key) || !config[key].is_number())
    return fallback;
  return config[key].is_number_integer() ? config[key].get<int64_t>() : int64_t(config[key].get<double>());
}

double ModelDesc::config_number(const std::string &key, double fallback) const {
  return config.contains(key) && config[key].is_number() ? config[key].get<double>() : fallback;
}

std::string ModelDesc::config_string(const std::string &key, const std::string &fallback) const {
  return config.contains(key) && config[key].is_string() ? config[key].get<std::string>() : fallback;
}

std::string slot_type_string(const SlotDesc &s) {
  std::string out = std::string(elem_type_name(s.type)) + "[";
  for (size_t i = 0; i < s.shape.size(); ++i)
    out += (i ? ", " : "") + (s.shape[i] == kBatchDim ? std::string("N") : std::to_string(s.shape[i]));
  return out + "]";
}

Expected<ModelDesc> parse_model_json(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return json_error("not a JSON object");
  ModelDesc m;
  m.name = string_at(j, "name");
  if (m.name.empty())
    return json_error("missing the model's `name`");
  if (j.contains("config") && j["config"].is_object())
    m.config = j["config"];
  if (!j.contains("slots") || !j["slots"].is_array())
    return json_error("missing the `slots` array");
  for (const nlohmann::json &s : j["slots"]) {
    Expected<SlotDesc> slot = parse_slot(s, m.slots.size());
    if (!slot)
      return Error{slot.error()};
    m.slots.push_back(std::move(*slot));
  }
  if (j.contains("params") && j["params"].is_array())
    for (const nlohmann::json &p : j["params"]) {
      Expected<ParamDesc> param = parse_param(p, m);
      if (!param)
        return Error{param.error()};
      m.params.push_back(std::move(*param));
    }
  if (Expected<void> ok = parse_functions(j, m); !ok)
    return Error{ok.error()};
  return m;
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

void Model::FreeDeleter::operator()(uint8_t *p) const { std::free(p); }

Model::Model(ModelDesc desc, const ModelABI &abi, int64_t max_batch)
    : desc_(std::move(desc)), abi_(abi), max_batch_(max_batch) {}

Expected<Model> Model::create(const ModelABI &abi, int64_t max_batch) {
  if (!abi.json)
    return json_error("the model exports no description");
  Expected<ModelDesc> desc = parse_model_json(abi.json);
  if (!desc)
    return Error{desc.error()};
  if (max_batch < 1)
    return fail(fmt::format("batch size must be positive, found {}", max_batch));
  Model m(std::move(*desc), abi, max_batch);
  size_t n = m.desc_.slots.size();
  m.dims_.resize(n);
  m.buffers_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const SlotDesc &s = m.desc_.slots[i];
    // Halide's extents and strides are int32: the whole slot must fit.
    int64_t count = 1;
    for (int64_t d : s.shape_at(max_batch)) {
      count *= d;
      if (count > std::numeric_limits<int32_t>::max())
        return fail(fmt::format("slot {} ({}) at batch {} holds more than 2^31 elements; use a smaller batch", i,
                                slot_type_string(s), max_batch));
    }
    size_t bytes = size_t(count) * elem_type_size(s.type);
    size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    uint8_t *p = static_cast<uint8_t *>(std::aligned_alloc(64, rounded));
    if (!p)
      return fail(fmt::format("out of memory allocating {} bytes for slot {}", rounded, i));
    std::memset(p, 0, rounded);
    m.memory_.emplace_back(p);
    m.dims_[i].resize(s.shape.size());
    halide_buffer_t &b = m.buffers_[i];
    b = halide_buffer_t();
    b.host = p;
    b.type = halide_type_t(info(s.type).code, uint8_t(8 * elem_type_size(s.type)));
    if (s.type == ElemType::Bool)
      b.type = halide_type_t(halide_type_uint, 1);
    b.dimensions = int32_t(s.shape.size());
    b.dim = s.shape.empty() ? nullptr : m.dims_[i].data();
    m.pointers_.push_back(&b);
  }
  m.bind_batch(max_batch);
  return m;
}

void Model::bind_batch(int64_t n) {
  batch_ = n;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const std::vector<int64_t> &shape = desc_.slots[i].shape;
    int32_t stride = 1;
    // dim[k] is IR dimension rank-1-k: Halide's innermost first.
    for (size_t k = 0; k < shape.size(); ++k) {
      int64_t d = shape[shape.size() - 1 - k];
      int32_t extent = int32_t(d == kBatchDim ? n : d);
      dims_[i][k] = halide_dimension_t(0, extent, stride);
      stride *= extent;
    }
  }
}

int64_t Model::elements(int i) const {
  int64_t n = 1;
  for (int64_t d : desc_.slots[size_t(i)].shape_at(batch_))
    n *= d;
  return n;
}

void Model::init_params(uint64_t seed) {
  Pcg32 rng(seed);
  std::vector<float> values;
  for (const ParamDesc &p : desc_.params) {
    const SlotDesc &s = desc_.slots[size_t(p.slot)];
    init_values(p.init, s.shape, p.value, p.stddev, rng, values);
    for (size_t k = 0; k < values.size(); ++k) {
      switch (s.type) {
      case ElemType::F32:
        f32(p.slot)[k] = values[k];
        break;
      case ElemType::F64:
        reinterpret_cast<double *>(host(p.slot))[k] = values[k];
        break;
      case ElemType::I32:
        i32(p.slot)[k] = int32_t(values[k]);
        break;
      case ElemType::I64:
        reinterpret_cast<int64_t *>(host(p.slot))[k] = int64_t(values[k]);
        break;
      case ElemType::U8:
      case ElemType::Bool:
        host(p.slot)[k] = uint8_t(values[k]);
        break;
      case ElemType::I8:
        reinterpret_cast<int8_t *>(host(p.slot))[k] = int8_t(values[k]);
        break;
      }
    }
  }
}

StepFn Model::entry(std::string_view name) const {
  const StepFn fns[] = {abi_.train_step, abi_.eval, abi_.predict, abi_.inspect, abi_.saliency, abi_.saliency_loss};
  static_assert(std::size(fns) == std::size(kFunctionNames));
  for (size_t i = 0; i < std::size(fns); ++i)
    if (name == kFunctionNames[i])
      return fns[i];
  return nullptr;
}

bool Model::has_function(std::string_view name) const { return desc_.function(name) && entry(name); }

Expected<void> Model::call(std::string_view name, int64_t batch) {
  StepFn fn = entry(name);
  if (!fn || !desc_.function(name))
    return fail(fmt::format("model `{}` has no `{}` function", desc_.name, name));
  if (batch < 1 || batch > max_batch_)
    return fail(fmt::format("batch {} is outside 1..{} (the size the buffers were allocated for)", batch, max_batch_));
  bind_batch(batch);
  int code = fn(pointers_.data(), int32_t(batch));
  if (code != 0)
    return fail(fmt::format("`{}` failed with Halide error {}: {}", name, code, halide_error_string(code)));
  return {};
}

std::string halide_error_string(int code) {
  switch (code) {
  case halide_error_code_success:
    return "success";
  case halide_error_code_generic_error:
    return "generic error (see Halide's message above)";
  case halide_error_code_explicit_bounds_too_small:
    return "explicit bounds too small for the region computed";
  case halide_error_code_bad_type:
    return "a buffer has the wrong element type";
  case halide_error_code_access_out_of_bounds:
    return "a kernel accessed a buffer out of bounds";
  case halide_error_code_buffer_allocation_too_large:
    return "a buffer allocation is too large";
  case halide_error_code_buffer_extents_too_large:
    return "buffer extents are too large";
  case halide_error_code_constraint_violated:
    return "a buffer's shape or stride violates a constraint";
  case halide_error_code_param_too_small:
    return "a scalar parameter is too small";
  case halide_error_code_param_too_large:
    return "a scalar parameter is too large";
  case halide_error_code_out_of_memory:
    return "out of memory";
  case halide_error_code_buffer_argument_is_null:
    return "a buffer argument is null";
  case halide_error_code_internal_error:
    return "Halide internal error";
  case halide_error_code_unaligned_host_ptr:
    return "a buffer's host pointer is not aligned as required";
  case halide_error_code_requirement_failed:
    return "a requirement failed";
  case halide_error_code_buffer_extents_negative:
    return "a buffer has a negative extent";
  case halide_error_code_host_is_null:
    return "a buffer's host pointer is null";
  case halide_error_code_buffer_is_null:
    return "a buffer is null";
  case halide_error_code_bad_dimensions:
    return "a buffer has the wrong number of dimensions";
  case halide_error_code_storage_bound_too_small:
    return "a storage bound is too small";
  default:
    return "see Halide's message above";
  }
}

} // namespace netc::rt
