// Op "elementwise": evaluates a fused Expression over aligned input chunks in one pass.
// The program runs block by block (numexpr-style): each node is one tight typed loop over a
// cache-sized block, so there is no per-element dispatch and a chain of operations reads and
// writes memory once.
#include <cmath>
#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <type_traits>

#include "core/expression.hpp"
#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"
#include "kernels/strided.hpp"

namespace cubist::kernels {
namespace {

using core::Expression;
using core::ExprNode;
using core::ExprOp;

constexpr std::int64_t kBlock = 2048;

// A Source the layer reads row by row itself (graph::inline_sources): its op and prepared params.
struct InlineSource {
  const OpDef* op = nullptr;
  std::shared_ptr<const void> prepared;
  DType dtype = DType::Float64;
  std::vector<std::int64_t> constant_chunks;  // sorted: filled with constant_value, never read
  double constant_value = 0;
};

struct Prepared {
  Expression expr;
  std::vector<std::vector<int>> axis_to_out;  // per input slot
  std::vector<InlineSource> sources;          // slots after the layer's inputs
  std::vector<std::int32_t> first_reader;     // per node: the first Input node of its slot
};

template <class T> constexpr bool is_flt = std::is_floating_point_v<T>;

// Integer arithmetic wraps like numpy instead of invoking signed-overflow UB.
template <class T> T wrap(std::uint64_t v) { return static_cast<T>(v); }
template <class T> T add(T a, T b) {
  if constexpr (is_flt<T>) return a + b;
  else if constexpr (std::is_same_v<T, bool>) return a || b;
  else return wrap<T>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
template <class T> T sub(T a, T b) {
  if constexpr (is_flt<T>) return a - b;
  else if constexpr (std::is_same_v<T, bool>) return a != b;
  else return wrap<T>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
template <class T> T mul(T a, T b) {
  if constexpr (is_flt<T>) return a * b;
  else if constexpr (std::is_same_v<T, bool>) return a && b;
  else return wrap<T>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
template <class T> T floordiv(T a, T b) {
  if constexpr (is_flt<T>) return std::floor(a / b);
  else if constexpr (std::is_same_v<T, bool>) return b ? a : false;
  else {
    if (b == 0) return 0;  // numpy returns 0 (with a warning) for integer division by zero
    if constexpr (std::is_signed_v<T>) {
      if (a == std::numeric_limits<T>::min() && b == -1) return a;
      T q = static_cast<T>(a / b);
      return ((a % b != 0) && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
    } else {
      return static_cast<T>(a / b);
    }
  }
}
template <class T> T mod(T a, T b) {
  if constexpr (is_flt<T>) {
    if (b == 0) return std::numeric_limits<T>::quiet_NaN();
    T r = std::fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  } else if constexpr (std::is_same_v<T, bool>) {
    return false;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return 0;
      T r = static_cast<T>(a % b);
      return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
    } else {
      return static_cast<T>(a % b);
    }
  }
}
template <class T> T power(T a, T b) {
  if constexpr (is_flt<T>) return std::pow(a, b);
  else if constexpr (std::is_same_v<T, bool>) return a || !b;
  else {
    if constexpr (std::is_signed_v<T>)
      if (b < 0) return a == 1 ? 1 : 0;
    std::uint64_t r = 1, base = static_cast<std::uint64_t>(a);
    for (std::uint64_t e = static_cast<std::uint64_t>(b); e; e >>= 1, base *= base)
      if (e & 1) r *= base;
    return wrap<T>(r);
  }
}
template <class T> T minimum(T a, T b) {
  if constexpr (is_flt<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return b < a ? b : a;
}
template <class T> T maximum(T a, T b) {
  if constexpr (is_flt<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? b : a;
}

// Conversion with numpy-like results and no UB: NaN or out-of-range floats -> the integer's minimum.
template <class To, class From> To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From{};
  else if constexpr (is_flt<From> && !is_flt<To>) {
    if (!(v >= static_cast<From>(std::numeric_limits<To>::min()) &&
          v < static_cast<From>(std::numeric_limits<To>::max())))
      return std::numeric_limits<To>::min();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <class T, class F> void loop2(const void* a, const void* b, void* out, std::int64_t n, F f) {
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  T* o = static_cast<T*>(out);
  for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
}
template <class T, class F> void compare(const void* a, const void* b, void* out, std::int64_t n, F f) {
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  bool* o = static_cast<bool*>(out);
  for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
}
template <class T, class F> void loop1(const void* a, void* out, std::int64_t n, F f) {
  const T* x = static_cast<const T*>(a);
  T* o = static_cast<T*>(out);
  for (std::int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}

void eval_binary(ExprOp op, DType arg_dtype, const void* a, const void* b, void* out, std::int64_t n) {
  visit_dtype(arg_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case ExprOp::Add: return loop2<T>(a, b, out, n, add<T>);
      case ExprOp::Sub: return loop2<T>(a, b, out, n, sub<T>);
      case ExprOp::Mul: return loop2<T>(a, b, out, n, mul<T>);
      case ExprOp::Div:
        if constexpr (is_flt<T>) return loop2<T>(a, b, out, n, [](T x, T y) { return x / y; });
        else return loop2<T>(a, b, out, n, floordiv<T>);
      case ExprOp::FloorDiv: return loop2<T>(a, b, out, n, floordiv<T>);
      case ExprOp::Mod: return loop2<T>(a, b, out, n, mod<T>);
      case ExprOp::Pow: return loop2<T>(a, b, out, n, power<T>);
      case ExprOp::Minimum: return loop2<T>(a, b, out, n, minimum<T>);
      case ExprOp::Maximum: return loop2<T>(a, b, out, n, maximum<T>);
      case ExprOp::Eq: return compare<T>(a, b, out, n, [](T x, T y) { return x == y; });
      case ExprOp::Ne: return compare<T>(a, b, out, n, [](T x, T y) { return x != y; });
      case ExprOp::Lt: return compare<T>(a, b, out, n, [](T x, T y) { return x < y; });
      case ExprOp::Le: return compare<T>(a, b, out, n, [](T x, T y) { return x <= y; });
      case ExprOp::Gt: return compare<T>(a, b, out, n, [](T x, T y) { return x > y; });
      case ExprOp::Ge: return compare<T>(a, b, out, n, [](T x, T y) { return x >= y; });
      case ExprOp::And:
      case ExprOp::Or:
      case ExprOp::Xor:
        if constexpr (is_flt<T>) throw TypeError(fmt::format("'{}' is not defined for {}", expr_op_name(op), dtype_name(arg_dtype)));
        else if constexpr (std::is_same_v<T, bool>) {
          if (op == ExprOp::And) return loop2<T>(a, b, out, n, [](T x, T y) { return x && y; });
          if (op == ExprOp::Or) return loop2<T>(a, b, out, n, [](T x, T y) { return x || y; });
          return loop2<T>(a, b, out, n, [](T x, T y) { return x != y; });
        } else {
          if (op == ExprOp::And) return loop2<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x & y); });
          if (op == ExprOp::Or) return loop2<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x | y); });
          return loop2<T>(a, b, out, n, [](T x, T y) { return static_cast<T>(x ^ y); });
        }
      default: throw Error(fmt::format("'{}' is not a binary operation", expr_op_name(op)));
    }
  });
}

void eval_unary(ExprOp op, DType dtype, const void* a, void* out, std::int64_t n) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case ExprOp::Neg:
        if constexpr (std::is_same_v<T, bool>) return loop1<T>(a, out, n, [](T x) { return !x; });
        else return loop1<T>(a, out, n, [](T x) { return sub<T>(T{}, x); });
      case ExprOp::Not:
        if constexpr (std::is_same_v<T, bool>) return loop1<T>(a, out, n, [](T x) { return !x; });
        else if constexpr (is_flt<T>) throw TypeError(fmt::format("'not' is not defined for {}", dtype_name(dtype)));
        else return loop1<T>(a, out, n, [](T x) { return static_cast<T>(~x); });
      case ExprOp::Abs:
        if constexpr (is_flt<T>) return loop1<T>(a, out, n, [](T x) { return std::fabs(x); });
        else if constexpr (std::is_signed_v<T>) return loop1<T>(a, out, n, [](T x) { return x < 0 ? sub<T>(T{}, x) : x; });
        else return loop1<T>(a, out, n, [](T x) { return x; });
      case ExprOp::Sqrt:
      case ExprOp::Exp:
      case ExprOp::Log:
      case ExprOp::Floor:
      case ExprOp::Ceil:
        if constexpr (is_flt<T>) {
          if (op == ExprOp::Sqrt) return loop1<T>(a, out, n, [](T x) { return std::sqrt(x); });
          if (op == ExprOp::Exp) return loop1<T>(a, out, n, [](T x) { return std::exp(x); });
          if (op == ExprOp::Log) return loop1<T>(a, out, n, [](T x) { return std::log(x); });
          if (op == ExprOp::Floor) return loop1<T>(a, out, n, [](T x) { return std::floor(x); });
          return loop1<T>(a, out, n, [](T x) { return std::ceil(x); });
        } else {
          throw TypeError(fmt::format("'{}' needs a float input, got {}", expr_op_name(op), dtype_name(dtype)));
        }
      default: throw Error(fmt::format("'{}' is not a unary operation", expr_op_name(op)));
    }
  });
}

void eval_isnull(DType dtype, const void* a, void* out, std::int64_t n) {
  bool* o = static_cast<bool*>(out);
  if (dtype == DType::Float32) {
    const float* x = static_cast<const float*>(a);
    for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] != x[i];
  } else if (dtype == DType::Float64) {
    const double* x = static_cast<const double*>(a);
    for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] != x[i];
  } else if (dtype == DType::DateTime64) {
    const std::int64_t* x = static_cast<const std::int64_t*>(a);
    for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] == kNaT;
  } else {
    std::memset(out, 0, static_cast<std::size_t>(n));
  }
}

void eval_cast(DType from, DType to, const void* a, void* out, std::int64_t n) {
  visit_dtype(from, [&](auto ftag) {
    using F = typename decltype(ftag)::type;
    visit_dtype(to, [&](auto ttag) {
      using T = typename decltype(ttag)::type;
      const F* x = static_cast<const F*>(a);
      T* o = static_cast<T*>(out);
      for (std::int64_t i = 0; i < n; ++i) o[i] = convert<T>(x[i]);
    });
  });
}

void eval_where(DType dtype, const void* c, const void* a, const void* b, void* out, std::int64_t n) {
  // Byte-wise select by element size keeps this to four instantiations. Both sides are loaded and
  // the select is done on the bits with a mask, so the loop vectorises (`cond[i] ? x[i] : y[i]`
  // stayed a scalar loop with a branch per element: ~3 % of the NDVI demo's CPU in the clip's where).
  const auto* cond = static_cast<const std::uint8_t*>(c);  // bools are stored as 0 or 1
  auto sel = [&](auto* __restrict o, const auto* __restrict x, const auto* __restrict y) {
    using U = std::remove_cvref_t<decltype(*x)>;
    for (std::int64_t i = 0; i < n; ++i) {
      const U mask = static_cast<U>(U{0} - static_cast<U>(cond[i]));
      o[i] = static_cast<U>(y[i] ^ ((x[i] ^ y[i]) & mask));
    }
  };
  switch (itemsize(dtype)) {
    case 1: return sel(static_cast<std::uint8_t*>(out), static_cast<const std::uint8_t*>(a), static_cast<const std::uint8_t*>(b));
    case 2: return sel(static_cast<std::uint16_t*>(out), static_cast<const std::uint16_t*>(a), static_cast<const std::uint16_t*>(b));
    case 4: return sel(static_cast<std::uint32_t*>(out), static_cast<const std::uint32_t*>(a), static_cast<const std::uint32_t*>(b));
    default: return sel(static_cast<std::uint64_t*>(out), static_cast<const std::uint64_t*>(a), static_cast<const std::uint64_t*>(b));
  }
}

void fill_const(const ExprNode& n, void* out, std::int64_t count) {
  visit_dtype(n.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = is_float(n.dtype) ? static_cast<T>(n.f) : static_cast<T>(n.i);
    T* o = static_cast<T*>(out);
    for (std::int64_t i = 0; i < count; ++i) o[i] = v;
  });
}

// params["sources"]: [{"op", "params", "dtype"}], each a Source op with OpDef::rows producing the
// layer's own grid.
std::vector<InlineSource> prepare_sources(const nlohmann::json& params, const OpSignature& sig) {
  std::vector<InlineSource> out;
  auto it = params.find("sources");
  if (it == params.end()) return out;
  if (!it->is_array()) throw ValueError("elementwise: 'sources' must be a list of {op, params, dtype}");
  for (const auto& s : *it) {
    if (!s.is_object() || !s.contains("op") || !s["op"].is_string() || !s.contains("params") || !s.contains("dtype") ||
        !s["dtype"].is_string())
      throw ValueError(fmt::format("elementwise: source {} is not {{op, params, dtype}}", s.dump().substr(0, 120)));
    InlineSource src;
    src.op = &OpRegistry::instance().get(s["op"].get<std::string>());
    if (!src.op->rows)
      throw ValueError(fmt::format("elementwise: source op '{}' cannot produce rows", src.op->name));
    src.dtype = parse_dtype(s["dtype"].get<std::string>());
    OpSignature source_sig;
    source_sig.out_dtype = src.dtype;
    source_sig.out_shape = sig.out_shape;
    src.prepared = src.op->prepare(s["params"], source_sig);
    if (auto c = s.find("constant"); c != s.end()) {
      if (!c->is_object() || !c->contains("chunks") || !(*c)["chunks"].is_array() || !c->contains("value_bits") ||
          !(*c)["value_bits"].is_number_unsigned())
        throw ValueError(fmt::format("elementwise: source constant {} is not {{chunks, value_bits}}", c->dump().substr(0, 120)));
      src.constant_chunks = (*c)["chunks"].get<std::vector<std::int64_t>>();
      std::sort(src.constant_chunks.begin(), src.constant_chunks.end());
      src.constant_value = std::bit_cast<double>((*c)["value_bits"].get<std::uint64_t>());
    }
    out.push_back(std::move(src));
  }
  return out;
}

std::shared_ptr<const void> prepare(const nlohmann::json& params, const OpSignature& sig) {
  auto p = std::make_shared<Prepared>();
  p->expr = Expression::from_json(params.at("expr"));
  p->axis_to_out = sig.input_axis_to_out;
  p->sources = prepare_sources(params, sig);
  std::vector<DType> slot_dtypes = sig.input_dtypes;
  for (const auto& src : p->sources) slot_dtypes.push_back(src.dtype);
  if (p->expr.num_inputs() > static_cast<int>(slot_dtypes.size()))
    throw ValueError(fmt::format("elementwise program reads input {} but the layer has {} inputs",
                                 p->expr.num_inputs() - 1, slot_dtypes.size()));
  std::vector<std::int32_t> first_of_slot(slot_dtypes.size(), -1);
  p->first_reader.assign(p->expr.nodes.size(), -1);
  for (std::size_t k = 0; k < p->expr.nodes.size(); ++k) {
    const auto& n = p->expr.nodes[k];
    if (n.op != ExprOp::Input) continue;
    const auto slot = static_cast<std::size_t>(n.args[0]);
    if (slot_dtypes[slot] != n.dtype)
      throw TypeError(fmt::format("elementwise program reads input {} as {} but it holds {}", n.args[0],
                                  dtype_name(n.dtype), dtype_name(slot_dtypes[slot])));
    if (first_of_slot[slot] < 0) first_of_slot[slot] = static_cast<std::int32_t>(k);
    p->first_reader[k] = first_of_slot[slot];
  }
  if (p->expr.dtype_of(p->expr.result) != sig.out_dtype)
    throw TypeError(fmt::format("elementwise program yields {} but the layer is {}",
                                dtype_name(p->expr.dtype_of(p->expr.result)), dtype_name(sig.out_dtype)));
  return p;
}

Chunk run(const TaskContext& ctx) {
  const auto& p = ctx.params<Prepared>();
  const auto& nodes = p.expr.nodes;
  Shape shape = ctx.shape();
  Chunk out = Chunk::allocate(ctx.out_dtype, shape);
  const std::int64_t total = out.size();

  // Per input: contiguous in the output's order (read in place) or a strided view to gather.
  std::vector<StridedView> views;
  views.reserve(ctx.inputs.size());
  for (const auto& in : ctx.inputs) views.push_back(StridedView::broadcast(*in.chunk, p.axis_to_out[in.slot], shape));

  // Inlined Sources are read a whole number of rows per block; in their constant chunks they are
  // their value (a reader of null).
  std::vector<std::unique_ptr<RowReader>> readers;
  const std::int64_t row = shape.empty() ? 1 : shape.back();
  std::int64_t block = kBlock;
  if (!p.sources.empty()) {
    TaskContext source_ctx = ctx;
    source_ctx.inputs = {};
    for (const auto& src : p.sources) {
      source_ctx.prepared = src.prepared.get();
      source_ctx.out_dtype = src.dtype;
      const bool constant = std::binary_search(src.constant_chunks.begin(), src.constant_chunks.end(), ctx.linear_chunk);
      readers.push_back(constant ? nullptr : src.op->rows(source_ctx));
    }
    if (row > 0) block = std::max<std::int64_t>(1, kBlock / row) * row;
  }
  // The value of an inlined Source in a constant chunk, in its dtype.
  auto fill_source = [&](std::size_t source, void* dst, std::int64_t count) {
    visit_dtype(p.sources[source].dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::fill_n(static_cast<T*>(dst), count, static_cast<T>(p.sources[source].constant_value));
    });
  };

  thread_local std::vector<double> scratch;  // registers: one block per node, 8-byte aligned
  const std::size_t need = nodes.size() * static_cast<std::size_t>(block);
  if (scratch.size() < need) scratch.resize(need);
  auto reg = [&](std::size_t k) { return static_cast<void*>(scratch.data() + k * static_cast<std::size_t>(block)); };
  std::vector<const void*> ptr(nodes.size());
  for (std::size_t k = 0; k < nodes.size(); ++k)
    if (nodes[k].op == ExprOp::Const) fill_const(nodes[k], reg(k), std::min(block, total));

  const std::size_t result = static_cast<std::size_t>(p.expr.result);
  const std::size_t out_size = itemsize(ctx.out_dtype);
  for (std::int64_t start = 0; start < total; start += block) {
    const std::int64_t n = std::min(block, total - start);
    void* out_block = static_cast<std::byte*>(out.mutable_raw()) + static_cast<std::size_t>(start) * out_size;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      const ExprNode& node = nodes[k];
      void* dst = k == result ? out_block : reg(k);
      auto arg = [&](int a) { return ptr[static_cast<std::size_t>(node.args[static_cast<std::size_t>(a)])]; };
      auto arg_dtype = [&](int a) { return nodes[static_cast<std::size_t>(node.args[static_cast<std::size_t>(a)])].dtype; };
      switch (node.op) {
        case ExprOp::Input: {
          const auto slot = static_cast<std::size_t>(node.args[0]);
          if (slot >= views.size()) {  // an inlined Source: its rows of this block, read once per block
            const auto first = static_cast<std::size_t>(p.first_reader[k]);
            const std::size_t source = slot - views.size();
            if (first == k && readers[source]) readers[source]->read(start / row, n / row, dst);
            else if (first == k) fill_source(source, dst, n);
            else if (k == result) std::memcpy(dst, ptr[first], static_cast<std::size_t>(n) * itemsize(node.dtype));
            else dst = const_cast<void*>(ptr[first]);
            break;
          }
          const StridedView& v = views[slot];
          if (v.contiguous && k != result) {
            ptr[k] = static_cast<const std::byte*>(v.data) + static_cast<std::size_t>(start) * itemsize(node.dtype);
            continue;
          }
          v.gather(start, n, dst);
          break;
        }
        case ExprOp::Const:
          if (k == result) fill_const(node, dst, n);
          else dst = reg(k);
          break;
        case ExprOp::Cast: eval_cast(arg_dtype(0), node.dtype, arg(0), dst, n); break;
        case ExprOp::IsNull: eval_isnull(arg_dtype(0), arg(0), dst, n); break;
        case ExprOp::Where: eval_where(node.dtype, arg(0), arg(1), arg(2), dst, n); break;
        case ExprOp::Neg:
        case ExprOp::Not:
        case ExprOp::Abs:
        case ExprOp::Sqrt:
        case ExprOp::Exp:
        case ExprOp::Log:
        case ExprOp::Floor:
        case ExprOp::Ceil: eval_unary(node.op, node.dtype, arg(0), dst, n); break;
        default: eval_binary(node.op, arg_dtype(0), arg(0), arg(1), dst, n); break;
      }
      ptr[k] = dst;
    }
  }
  return out;
}

const OpRegistration kRegister{OpDef{"elementwise", prepare, run, true}};

}  // namespace
}  // namespace cubist::kernels
