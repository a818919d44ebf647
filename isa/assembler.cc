#include "isa/assembler.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "isa/encoding.h"
#include "isa/loadable.h"

namespace cardsim::isa {

namespace {

// ---------------------------------------------------------------- text helpers

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kDataBytesPerLine = 48;  // 64 base64 characters

std::string base64_encode(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8 | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t(p[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (n - i == 2) {
    uint32_t v = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Appends the decoded bytes; on error returns the index of the offending character.
std::optional<size_t> base64_decode(std::string_view s, std::vector<uint8_t>& out) {
  if (s.size() % 4 != 0) return s.size();
  for (size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i + k];
      bool last_group = i + 4 == s.size();
      if (c == '=' && last_group && k >= 2 && (k == 3 || s[i + 3] == '=')) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad) return i + k;  // data after padding
      v[k] = b64_value(c);
      if (v[k] < 0) return i + k;
    }
    uint32_t w = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    out.push_back(uint8_t(w >> 16));
    if (pad < 2) out.push_back(uint8_t(w >> 8));
    if (pad < 1) out.push_back(uint8_t(w));
  }
  return std::nullopt;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out + "\"";
}

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

// Shortest text that reads back to the same binary32 (NaNs keep their payload).
std::string float_text(float f) {
  if (std::isnan(f)) return fmt::format("nan:0x{:08x}", std::bit_cast<uint32_t>(f));
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += fmt::format("{}{}", i ? "," : "", s[i]);
  return out + "]";
}

std::string field_text(FieldId f, const Instr& in) {
  const FieldInfo& fi = field_info(f);
  double v = get_field(in, f);
  switch (fi.kind) {
    case FieldKind::F: return float_text(std::bit_cast<float>(uint32_t(get_field_bits(in, f))));
    case FieldKind::E: {
      std::string_view n = enum_value_name(f, int64_t(v));
      return n.empty() ? fmt::format("{}", int64_t(v)) : std::string(n);
    }
    case FieldKind::U:
      if (fi.name.ends_with("_addr")) return uint64_t(v) == kNoAddr ? "none" : hex(uint64_t(v));
      return fmt::format("{}", int64_t(v));
    case FieldKind::S: return fmt::format("{}", int64_t(v));
  }
  return "";
}

bool field_is_zero(FieldId f, const Instr& in) {
  if (field_info(f).kind == FieldKind::F) return get_field_bits(in, f) == 0;
  return get_field(in, f) == 0;
}

}  // namespace

// ---------------------------------------------------------------- disassembler

std::string disassemble(const Program& p) {
  std::string out;
  out += "# cardsim assembly. `cardsim asm FILE.s -o FILE.cbin` rebuilds the loadable; see isa/ISA.md.\n";
  out += fmt::format(".isa {}\n", p.isa_version);
  out += fmt::format(".semaphores {}\n", p.num_semaphores);
  out += fmt::format(".footprint dram={} sram={} acc={}\n", hex(p.dram_bytes), hex(p.sram_bytes), hex(p.acc_bytes));
  for (const auto& [k, v] : p.metadata) out += fmt::format(".meta {} {}\n", quote(k), quote(v));
  auto binding = [&](const char* dir, const TensorBinding& t) {
    out += fmt::format("{} {} {} {} {} {} {}\n", dir, quote(t.name), dtype_name(t.dtype), shape_text(t.shape),
                       hex(t.dram_addr), float_text(t.scale), t.zero_point);
  };
  if (!p.inputs.empty() || !p.outputs.empty()) out += "# .input/.output NAME DTYPE SHAPE DRAM_ADDR SCALE ZERO_POINT\n";
  for (const auto& t : p.inputs) binding(".input", t);
  for (const auto& t : p.outputs) binding(".output", t);
  if (!p.regions.empty()) out += "# .region NAME SPACE BASE SIZE rw|ro\n";
  for (const auto& r : p.regions)
    out += fmt::format(".region {} {} {} {} {}\n", quote(r.name), space_name(r.space), hex(r.base), hex(r.size),
                       r.writable ? "rw" : "ro");
  if (!p.layers.empty()) out += "# .layer NAME OP MACS PLACEMENT   (index = order of appearance)\n";
  for (const auto& l : p.layers)
    out += fmt::format(".layer {} {} {} {}\n", quote(l.name), quote(l.op), l.macs, quote(l.placement));
  if (!p.host_ops.empty()) out += "# .hostop OP_TYPE OPSET NODE_BASE64, then its .hostin/.hostout DTYPE SHAPE DRAM_ADDR\n";
  for (const auto& h : p.host_ops) {
    std::string node = base64_encode(h.node.data(), h.node.size());
    out += fmt::format(".hostop {} {} {}\n", quote(h.op_type), h.opset, node.empty() ? "\"\"" : node);
    for (const auto& r : h.inputs)
      out += fmt::format(".hostin {} {} {}\n", dtype_name(r.dtype), shape_text(r.shape), hex(r.dram_addr));
    for (const auto& r : h.outputs)
      out += fmt::format(".hostout {} {} {}\n", dtype_name(r.dtype), shape_text(r.shape), hex(r.dram_addr));
  }
  for (size_t q = 0; q < p.queues.size(); ++q) {
    out += fmt::format(".queue {}\n", queue_name(int(q)));
    int64_t last_layer = -1;
    for (const Instr& in : p.queues[q]) {
      if (int(in.op) >= kNumOpcodes) fail(ErrorKind::Format, "disassemble: unknown opcode {}", int(in.op));
      if (in.layer != last_layer && in.layer >= 0 && size_t(in.layer) < p.layers.size())
        out += fmt::format("  # layer {}: {} ({})\n", in.layer, p.layers[size_t(in.layer)].name,
                           p.layers[size_t(in.layer)].op);
      last_layer = in.layer;
      const OpcodeInfo& oi = opcode_info(in.op);
      out += "  ";
      out += oi.mnemonic;
      // Enumerations always (they say what an operand is); numbers only when non-zero.
      for (FieldId f : oi.fields)
        if (field_info(f).kind == FieldKind::E || !field_is_zero(f, in))
          out += fmt::format(" {}={}", field_info(f).name, field_text(f, in));
      for (FieldId f : {FieldId::wait, FieldId::signal, FieldId::layer})
        if (!field_is_zero(f, in)) out += fmt::format(" {}={}", field_info(f).name, field_text(f, in));
      out += '\n';
    }
  }
  out += fmt::format(".constants {} {}\n", hex(p.constants_addr), p.constants.size());
  for (size_t i = 0; i < p.constants.size(); i += kDataBytesPerLine)
    out += fmt::format(".data {}\n", base64_encode(p.constants.data() + i, std::min(kDataBytesPerLine, p.constants.size() - i)));
  return out;
}

// ---------------------------------------------------------------- assembler

namespace {

struct Token {
  std::string text;
  int col;  // 1-based
  bool quoted = false;
};

class Assembler {
 public:
  Assembler(const std::string& text, const std::string& filename) : text_(text), file_(filename) {}

  Program run() {
    size_t pos = 0;
    while (pos <= text_.size()) {
      size_t nl = text_.find('\n', pos);
      if (nl == std::string::npos) nl = text_.size();
      ++line_;
      std::string_view ln(text_.data() + pos, nl - pos);
      if (!ln.empty() && ln.back() == '\r') ln.remove_suffix(1);
      std::vector<Token> toks = tokenize(ln);
      if (!toks.empty()) {
        if (!toks[0].quoted && toks[0].text[0] == '.')
          directive(toks);
        else
          instruction(toks);
      }
      pos = nl + 1;
    }
    finish();
    return std::move(p_);
  }

 private:
  const std::string& text_;
  std::string file_;
  int line_ = 0;
  Program p_;
  int queue_ = -1;
  std::set<std::string> once_;  // directives that may appear only once
  int constants_line_ = 0, constants_col_ = 0;
  uint64_t constants_size_ = 0;
  bool have_constants_ = false;
  struct Where {
    int line, col;
  };
  std::vector<std::vector<Where>> where_;  // per queue, per instruction

  [[noreturn]] void error(int col, const std::string& msg) {
    fail(ErrorKind::Format, "{}:{}:{}: {}", file_, line_, col, msg);
  }
  [[noreturn]] void error_at(int line, int col, const std::string& msg) {
    fail(ErrorKind::Format, "{}:{}:{}: {}", file_, line, col, msg);
  }

  std::vector<Token> tokenize(std::string_view ln) {
    std::vector<Token> toks;
    size_t i = 0;
    while (i < ln.size()) {
      char c = ln[i];
      if (c == ' ' || c == '\t') {
        ++i;
        continue;
      }
      if (c == '#' || c == ';') break;
      Token t;
      t.col = int(i) + 1;
      if (c == '"') {
        t.quoted = true;
        ++i;
        bool closed = false;
        while (i < ln.size()) {
          char d = ln[i];
          if (d == '"') {
            closed = true;
            ++i;
            break;
          }
          if (d == '\\') {
            if (i + 1 >= ln.size()) error(int(i) + 1, "unfinished escape at the end of the line");
            char e = ln[i + 1];
            if (e == 'n') t.text += '\n';
            else if (e == 't') t.text += '\t';
            else if (e == '\\' || e == '"') t.text += e;
            else if (e == 'x') {
              unsigned v = 0;
              if (i + 3 >= ln.size() ||
                  std::from_chars(ln.data() + i + 2, ln.data() + i + 4, v, 16).ptr != ln.data() + i + 4)
                error(int(i) + 1, "expected two hex digits after \\x");
              t.text += char(v);
              i += 2;
            } else {
              error(int(i) + 1, fmt::format("unknown escape '\\{}' (expected \\n \\t \\\\ \\\" or \\xHH)", e));
            }
            i += 2;
            continue;
          }
          t.text += d;
          ++i;
        }
        if (!closed) error(t.col, "string not closed: expected '\"' before the end of the line");
        if (i < ln.size() && ln[i] != ' ' && ln[i] != '\t' && ln[i] != '#' && ln[i] != ';')
          error(int(i) + 1, "expected a space after the closing '\"'");
      } else {
        while (i < ln.size() && ln[i] != ' ' && ln[i] != '\t' && ln[i] != '#' && ln[i] != ';') t.text += ln[i++];
        if (i < ln.size() && ln[i] == '"') error(int(i) + 1, "unexpected '\"' inside a word");
      }
      toks.push_back(std::move(t));
    }
    return toks;
  }

  // ---- value parsers (errors point at the token)
  uint64_t parse_u64(const Token& t, std::string_view what) {
    std::string_view s = t.text;
    uint64_t v = 0;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      s.remove_prefix(2);
      base = 16;
    }
    auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (t.quoted || s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
      error(t.col, fmt::format("bad number '{}' for {}: expected an unsigned decimal or 0x-hex integer{}", t.text, what,
                               r.ec == std::errc::result_out_of_range ? " below 2^64" : ""));
    return v;
  }
  int64_t parse_i64(const Token& t, std::string_view what) {
    bool neg = !t.text.empty() && t.text[0] == '-';
    Token u = t;
    if (neg) u.text = t.text.substr(1);
    uint64_t m = parse_u64(u, what);
    if (m > (neg ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1))
      error(t.col, fmt::format("number '{}' for {} is out of the 64-bit range", t.text, what));
    return neg ? int64_t(0 - m) : int64_t(m);
  }
  float parse_f32(const Token& t, std::string_view what) {
    std::string_view s = t.text;
    if (s.starts_with("nan:")) {
      Token b = t;
      b.text = t.text.substr(4);
      uint64_t bits = parse_u64(b, what);
      float f = std::bit_cast<float>(uint32_t(bits));
      if (bits > 0xffffffffu || !std::isnan(f))
        error(t.col, fmt::format("'{}' for {}: nan:BITS needs the 32-bit pattern of a NaN", t.text, what));
      return f;
    }
    float f = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), f);
    if (t.quoted || s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
      error(t.col, fmt::format("bad number '{}' for {}: expected a float (e.g. 0.5, -1e-3, inf, nan:0x7fc00000){}",
                               t.text, what, r.ec == std::errc::result_out_of_range ? " within binary32 range" : ""));
    return f;
  }
  DType parse_dtype(const Token& t) {
    for (const auto& [v, n] : enum_values(EnumSet::DType))
      if (n == t.text && !t.quoted) return DType(v);
    std::string names;
    for (const auto& [v, n] : enum_values(EnumSet::DType)) names += fmt::format("{}{}", names.empty() ? "" : " ", n);
    error(t.col, fmt::format("unknown data type '{}' (expected one of: {})", t.text, names));
  }
  Shape parse_shape(const Token& t) {
    std::string_view s = t.text;
    if (t.quoted || s.size() < 2 || s.front() != '[' || s.back() != ']')
      error(t.col, fmt::format("bad shape '{}': expected [d0,d1,...] without spaces, e.g. [1,3,224,224] or []", t.text));
    Shape out;
    s = s.substr(1, s.size() - 2);
    int col = t.col + 1;
    while (!s.empty()) {
      size_t comma = s.find(',');
      std::string_view d = s.substr(0, comma);
      Token dt{std::string(d), col};
      out.push_back(parse_i64(dt, "a shape dimension"));
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
      col += int(comma) + 1;
      if (s.empty()) error(col, "expected a dimension after ','");
    }
    return out;
  }
  std::vector<uint8_t> parse_b64(const Token& t, std::vector<uint8_t>& out) {
    if (auto bad = base64_decode(t.text, out))
      error(t.col + int(*bad) + (t.quoted ? 1 : 0),
            fmt::format("bad base64 data: expected groups of 4 characters A-Z a-z 0-9 + / with '=' padding only at the end"));
    return {};
  }

  void expect_args(const std::vector<Token>& toks, size_t n, std::string_view usage) {
    if (toks.size() - 1 != n) {
      int col = toks.size() - 1 > n ? toks[n + 1].col : int(toks.back().col + toks.back().text.size() + 1);
      error(col, fmt::format("{} takes {} argument{}, got {}: usage: {}", toks[0].text, n, n == 1 ? "" : "s",
                             toks.size() - 1, usage));
    }
  }
  void only_once(const Token& t) {
    if (!once_.insert(t.text).second) error(t.col, fmt::format("{} given twice", t.text));
  }

  TensorBinding binding(const std::vector<Token>& a) {
    expect_args(a, 6, fmt::format("{} NAME DTYPE SHAPE DRAM_ADDR SCALE ZERO_POINT", a[0].text));
    TensorBinding t;
    t.name = a[1].text;
    t.dtype = parse_dtype(a[2]);
    t.shape = parse_shape(a[3]);
    t.dram_addr = parse_u64(a[4], "the DRAM address");
    t.scale = parse_f32(a[5], "the scale");
    int64_t zp = parse_i64(a[6], "the zero point");
    if (zp < INT32_MIN || zp > INT32_MAX) error(a[6].col, "zero point does not fit 32 bits");
    t.zero_point = int32_t(zp);
    return t;
  }
  HostTensorRef host_ref(const std::vector<Token>& a) {
    expect_args(a, 3, fmt::format("{} DTYPE SHAPE DRAM_ADDR", a[0].text));
    if (p_.host_ops.empty()) error(a[0].col, fmt::format("{} must follow a .hostop", a[0].text));
    HostTensorRef r;
    r.dtype = parse_dtype(a[1]);
    r.shape = parse_shape(a[2]);
    r.dram_addr = parse_u64(a[3], "the DRAM address");
    return r;
  }

  void directive(const std::vector<Token>& a) {
    const std::string& d = a[0].text;
    if (d == ".isa") {
      only_once(a[0]);
      expect_args(a, 1, ".isa VERSION");
      uint64_t v = parse_u64(a[1], "the ISA version");
      if (v != kIsaVersion)
        error(a[1].col, fmt::format("ISA version {} is not supported (this cardsim implements version {})", v, kIsaVersion));
      p_.isa_version = uint32_t(v);
    } else if (d == ".semaphores") {
      only_once(a[0]);
      expect_args(a, 1, ".semaphores COUNT");
      uint64_t v = parse_u64(a[1], "the semaphore count");
      if (v > 256) error(a[1].col, fmt::format("{} semaphores: the encoding addresses at most 256", v));
      p_.num_semaphores = uint32_t(v);
    } else if (d == ".footprint") {
      only_once(a[0]);
      for (size_t i = 1; i < a.size(); ++i) {
        size_t eq = a[i].text.find('=');
        std::string key = a[i].text.substr(0, eq);
        uint64_t* dst = key == "dram" ? &p_.dram_bytes : key == "sram" ? &p_.sram_bytes : key == "acc" ? &p_.acc_bytes : nullptr;
        if (eq == std::string::npos || !dst || a[i].quoted)
          error(a[i].col, fmt::format("expected dram=BYTES, sram=BYTES or acc=BYTES, got '{}'", a[i].text));
        Token v{a[i].text.substr(eq + 1), a[i].col + int(eq) + 1};
        *dst = parse_u64(v, key + " bytes");
      }
    } else if (d == ".meta") {
      expect_args(a, 2, ".meta KEY VALUE");
      if (!p_.metadata.emplace(a[1].text, a[2].text).second)
        error(a[1].col, fmt::format("metadata key {} given twice", quote(a[1].text)));
    } else if (d == ".input") {
      p_.inputs.push_back(binding(a));
    } else if (d == ".output") {
      p_.outputs.push_back(binding(a));
    } else if (d == ".region") {
      expect_args(a, 5, ".region NAME SPACE BASE SIZE rw|ro");
      Region r;
      r.name = a[1].text;
      auto sp = space_from_name(a[2].text);
      if (!sp || a[2].quoted) error(a[2].col, fmt::format("unknown space '{}' (expected host, dram, sram or acc)", a[2].text));
      r.space = *sp;
      r.base = parse_u64(a[3], "the region base");
      r.size = parse_u64(a[4], "the region size");
      if (a[5].text != "rw" && a[5].text != "ro") error(a[5].col, fmt::format("expected rw or ro, got '{}'", a[5].text));
      r.writable = a[5].text == "rw";
      p_.regions.push_back(std::move(r));
    } else if (d == ".layer") {
      expect_args(a, 4, ".layer NAME OP MACS PLACEMENT");
      LayerInfo l;
      l.name = a[1].text;
      l.op = a[2].text;
      l.macs = parse_u64(a[3], "the MAC count");
      l.placement = a[4].text;
      p_.layers.push_back(std::move(l));
    } else if (d == ".hostop") {
      expect_args(a, 3, ".hostop OP_TYPE OPSET NODE_BASE64");
      HostOp h;
      h.op_type = a[1].text;
      int64_t opset = parse_i64(a[2], "the opset");
      if (opset < INT32_MIN || opset > INT32_MAX) error(a[2].col, "opset does not fit 32 bits");
      h.opset = int(opset);
      parse_b64(a[3], h.node);
      p_.host_ops.push_back(std::move(h));
    } else if (d == ".hostin") {
      HostTensorRef r = host_ref(a);
      p_.host_ops.back().inputs.push_back(std::move(r));
    } else if (d == ".hostout") {
      HostTensorRef r = host_ref(a);
      p_.host_ops.back().outputs.push_back(std::move(r));
    } else if (d == ".queue") {
      expect_args(a, 1, ".queue mxu|vpu|dma0|dma1|...");
      auto q = queue_from_name(a[1].text);
      if (!q || a[1].quoted) error(a[1].col, fmt::format("unknown queue '{}' (expected mxu, vpu or dmaN)", a[1].text));
      queue_ = *q;
      if (p_.queues.size() <= size_t(queue_)) {
        p_.queues.resize(size_t(queue_) + 1);
        where_.resize(size_t(queue_) + 1);
      }
    } else if (d == ".constants") {
      only_once(a[0]);
      expect_args(a, 2, ".constants DRAM_ADDR SIZE_BYTES");
      p_.constants_addr = parse_u64(a[1], "the constants address");
      constants_size_ = parse_u64(a[2], "the constants size");
      have_constants_ = true;
      constants_line_ = line_;
      constants_col_ = a[0].col;
    } else if (d == ".data") {
      if (!have_constants_) error(a[0].col, ".data must follow .constants");
      for (size_t i = 1; i < a.size(); ++i) parse_b64(a[i], p_.constants);
    } else {
      error(a[0].col, fmt::format("unknown directive '{}' (expected .isa .semaphores .footprint .meta .input .output "
                                  ".region .layer .hostop .hostin .hostout .queue .constants .data)",
                                  d));
    }
  }

  void instruction(const std::vector<Token>& a) {
    const Token& m = a[0];
    const OpcodeInfo* oi = m.quoted ? nullptr : opcode_by_mnemonic(m.text);
    if (!oi) {
      std::string names;
      for (int o = 0; o < kNumOpcodes; ++o) names += fmt::format("{}{}", o ? " " : "", opcode_info(Opcode(o)).mnemonic);
      error(m.col, fmt::format("unknown mnemonic '{}' (expected a directive or one of: {})", m.text, names));
    }
    if (queue_ < 0) error(m.col, fmt::format("{} outside a queue: put '.queue NAME' before instructions", m.text));
    if (!engine_runs_on_queue(oi->engine, queue_))
      error(m.col, fmt::format("{} is a {} instruction and cannot go on queue {}", m.text, engine_name(oi->engine),
                               queue_name(queue_)));
    Instr in;
    in.op = oi->op;
    std::set<FieldId> given;
    for (size_t i = 1; i < a.size(); ++i) {
      const Token& t = a[i];
      size_t eq = t.text.find('=');
      if (t.quoted || eq == std::string::npos || eq == 0)
        error(t.col, fmt::format("expected field=value, got '{}'", t.text));
      std::string name = t.text.substr(0, eq);
      Token v{t.text.substr(eq + 1), t.col + int(eq) + 1};
      auto f = field_by_name(name);
      if (!f || !opcode_has_field(oi->op, *f)) {
        std::string names = "wait signal layer";
        for (FieldId g : oi->fields) names += fmt::format(" {}", field_info(g).name);
        error(t.col, fmt::format("unknown field '{}' for {} (fields: {})", name, oi->mnemonic, names));
      }
      if (!given.insert(*f).second) error(t.col, fmt::format("field {} given twice", name));
      if (v.text.empty()) error(v.col, fmt::format("expected a value after '{}='", name));
      const FieldInfo& fi = field_info(*f);
      double value;
      switch (fi.kind) {
        case FieldKind::F:  // by bits, so NaN payloads survive
          set_field_bits(in, *f, std::bit_cast<uint32_t>(parse_f32(v, name)));
          continue;
        case FieldKind::E: {
          auto e = enum_value_from_name(*f, v.text);
          if (!e) {
            std::string names;
            for (const auto& [val, n] : enum_values(enum_set_of(*f))) names += fmt::format("{}{}", names.empty() ? "" : " ", n);
            error(v.col, fmt::format("unknown value '{}' for {} (expected one of: {})", v.text, name, names));
          }
          value = double(*e);
          break;
        }
        default:
          if (v.text == "none" && fi.name.ends_with("_addr")) {
            value = double(kNoAddr);
          } else {
            value = double(parse_i64(v, name));
          }
          break;
      }
      std::string problem = field_value_problem(*f, value);
      if (!problem.empty()) error(v.col, problem);
      set_field(in, *f, value);
    }
    p_.queues[size_t(queue_)].push_back(in);
    where_[size_t(queue_)].push_back({line_, m.col});
  }

  void finish() {
    if (have_constants_ && p_.constants.size() != constants_size_)
      error_at(constants_line_, constants_col_,
               fmt::format(".constants declares {} bytes but the .data lines that follow hold {}", constants_size_,
                           p_.constants.size()));
    // Semaphore indices depend on .semaphores, which may come anywhere: check at the end.
    for (size_t q = 0; q < p_.queues.size(); ++q)
      for (size_t i = 0; i < p_.queues[q].size(); ++i) {
        const Instr& in = p_.queues[q][i];
        auto check = [&](std::string_view field, int64_t s) {
          if (s != 0 && uint64_t(s) >= p_.num_semaphores)
            error_at(where_[q][i].line, where_[q][i].col,
                     fmt::format("{} = {} but the program has {} semaphores (.semaphores)", field, s, p_.num_semaphores));
        };
        check("wait", in.wait);
        check("signal", in.signal);
        if (in.op == Opcode::SemWait || in.op == Opcode::SemSignal) check("sem", in.sem);
      }
  }
};

}  // namespace

Program assemble(const std::string& text, const std::string& filename) {
  Assembler a(text, filename);
  Program p = a.run();
  check_program(p, filename);  // anything not caught above with a line number
  return p;
}

}  // namespace cardsim::isa
