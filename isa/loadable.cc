#include "isa/loadable.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "isa/encoding.h"

namespace cardsim::isa {

namespace {

// ---- Layout constants (ISA.md "Loadable"). All integers little-endian.
constexpr char kMagic[4] = {'C', 'B', 'I', 'N'};
constexpr size_t kFixedHeader = 24;  // magic, format version, isa version, section count, file size
constexpr size_t kEntryBytes = 32;   // kind, index, offset, size, crc32, reserved
constexpr size_t kHeaderTail = 8;    // header crc32, reserved
constexpr uint32_t kMaxSections = 1u << 16;

enum class SectionKind : uint32_t {
  Program = 1,    // u32 num_semaphores, u32 num_queues
  Code = 2,       // index = queue; the encoded instructions
  Constants = 3,  // u64 load address, then the bytes
  Tensors = 4,    // inputs then outputs
  Regions = 5,
  Layers = 6,
  HostOps = 7,
  Metadata = 8,
  Footprint = 9,  // u64 dram, sram, acc bytes
};

std::string section_name(uint32_t kind, uint32_t index) {
  switch (SectionKind(kind)) {
    case SectionKind::Program: return "program";
    case SectionKind::Code: return fmt::format("code[{}]", queue_name(int(index)));
    case SectionKind::Constants: return "constants";
    case SectionKind::Tensors: return "tensors";
    case SectionKind::Regions: return "regions";
    case SectionKind::Layers: return "layers";
    case SectionKind::HostOps: return "hostops";
    case SectionKind::Metadata: return "metadata";
    case SectionKind::Footprint: return "footprint";
  }
  return fmt::format("unknown kind {}", kind);
}

// CRC-32 (IEEE 802.3 / zlib), slicing-by-8: ~4x the byte-wise table (boost::crc_32_type),
// which matters for loadables with tens of MB of weights. Tables built once.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

uint32_t crc32(const uint8_t* p, size_t n) {
  static const CrcTables tables;
  const auto& t = tables.t;
  uint32_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    uint32_t lo = (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24) ^ c;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
        t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

bool valid_dtype(uint8_t v) { return v == 0 || (v < 32 && dtype_name(DType(v)) != "undefined"); }

// ---- Writing
struct Writer {
  std::vector<uint8_t> out;
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(v >> (8 * i)));
  }
  void i32(int32_t v) { u32(uint32_t(v)); }
  void i64(int64_t v) { u64(uint64_t(v)); }
  void f32(float v) { u32(std::bit_cast<uint32_t>(v)); }
  void bytes(const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); }
  void blob(const std::vector<uint8_t>& b) {
    u32(uint32_t(b.size()));
    bytes(b.data(), b.size());
  }
  void str(const std::string& s) {
    u32(uint32_t(s.size()));
    bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  void shape(const Shape& s) {
    u32(uint32_t(s.size()));
    for (int64_t d : s) i64(d);
  }
};

void put_binding(Writer& w, const TensorBinding& t) {
  w.str(t.name);
  w.u8(uint8_t(t.dtype));
  w.shape(t.shape);
  w.u64(t.dram_addr);
  w.f32(t.scale);
  w.i32(t.zero_point);
}

void put_ref(Writer& w, const HostTensorRef& r) {
  w.u8(uint8_t(r.dtype));
  w.shape(r.shape);
  w.u64(r.dram_addr);
}

// ---- Reading (every read is bounds-checked and names the section and offset)
struct Reader {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  std::string where;  // "file.cbin: section 'tensors'"
  size_t file_offset;  // where p[0] sits in the file

  void need(size_t k, std::string_view what) {
    if (n - pos < k)
      fail(ErrorKind::Format, "{}: truncated at byte offset {} (file offset {}): {} needs {} bytes, {} left", where,
           pos, file_offset + pos, what, k, n - pos);
  }
  uint8_t u8(std::string_view what) {
    need(1, what);
    return p[pos++];
  }
  uint32_t u32(std::string_view what) {
    need(4, what);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(p[pos + i]) << (8 * i);
    pos += 4;
    return v;
  }
  uint64_t u64(std::string_view what) {
    need(8, what);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(p[pos + i]) << (8 * i);
    pos += 8;
    return v;
  }
  int32_t i32(std::string_view what) { return int32_t(u32(what)); }
  int64_t i64(std::string_view what) { return int64_t(u64(what)); }
  float f32(std::string_view what) { return std::bit_cast<float>(u32(what)); }
  // A count of items each at least min_bytes long: reject counts the section cannot hold
  // before allocating for them.
  uint32_t count(std::string_view what, size_t min_bytes) {
    size_t at = pos;
    uint32_t c = u32(what);
    if (min_bytes && uint64_t(c) * min_bytes > n - pos)
      fail(ErrorKind::Format, "{}: byte offset {} (file offset {}): {} {} needs at least {} bytes, {} left",
           where, at, file_offset + at, what, c, uint64_t(c) * min_bytes, n - pos);
    return c;
  }
  std::string str(std::string_view what) {
    uint32_t len = count(what, 1);
    std::string s(reinterpret_cast<const char*>(p + pos), len);
    pos += len;
    return s;
  }
  std::vector<uint8_t> blob(std::string_view what) {
    uint32_t len = count(what, 1);
    std::vector<uint8_t> b(p + pos, p + pos + len);
    pos += len;
    return b;
  }
  Shape shape(std::string_view what) {
    uint32_t rank = count(what, 8);
    Shape s(rank);
    for (auto& d : s) d = i64(what);
    return s;
  }
  DType dtype(std::string_view what) {
    size_t at = pos;
    uint8_t v = u8(what);
    if (!valid_dtype(v))
      fail(ErrorKind::Format, "{}: byte offset {} (file offset {}): {} has unknown data type code {}", where, at,
           file_offset + at, what, v);
    return DType(v);
  }
  void finish() {
    if (pos != n)
      fail(ErrorKind::Format, "{}: {} unexpected trailing bytes at byte offset {} (file offset {})", where, n - pos, pos,
           file_offset + pos);
  }
};

TensorBinding get_binding(Reader& r) {
  TensorBinding t;
  t.name = r.str("tensor name");
  t.dtype = r.dtype("tensor dtype");
  t.shape = r.shape("tensor shape");
  t.dram_addr = r.u64("tensor address");
  t.scale = r.f32("tensor scale");
  t.zero_point = r.i32("tensor zero point");
  return t;
}

HostTensorRef get_ref(Reader& r) {
  HostTensorRef t;
  t.dtype = r.dtype("host tensor dtype");
  t.shape = r.shape("host tensor shape");
  t.dram_addr = r.u64("host tensor address");
  return t;
}

struct Section {
  uint32_t kind, index;
  std::vector<uint8_t> data;
};

}  // namespace

void check_program(const Program& p, const std::string& where) {
  if (p.isa_version != kIsaVersion)
    fail(ErrorKind::Format, "{}: ISA version {} is not supported (this cardsim implements ISA version {})", where,
         p.isa_version, kIsaVersion);
  if (p.num_semaphores > 256)
    fail(ErrorKind::Format, "{}: {} semaphores requested, the encoding addresses at most 256", where,
         p.num_semaphores);
  for (size_t q = 0; q < p.queues.size(); ++q) {
    for (size_t i = 0; i < p.queues[q].size(); ++i) {
      const Instr& in = p.queues[q][i];
      if (int(in.op) >= kNumOpcodes)
        fail(ErrorKind::Format, "{}: queue {} instruction {}: unknown opcode {}", where, queue_name(int(q)), i,
             int(in.op));
      const OpcodeInfo& oi = opcode_info(in.op);
      auto ctx = [&] { return fmt::format("{}: queue {} instruction {} ({})", where, queue_name(int(q)), i, oi.mnemonic); };
      if (!engine_runs_on_queue(oi.engine, int(q)))
        fail(ErrorKind::Format, "{}: a {} instruction cannot run on queue {}", ctx(), engine_name(oi.engine),
             queue_name(int(q)));
      auto check_sem = [&](std::string_view field, int64_t s) {
        if (s != 0 && (s < 0 || uint64_t(s) >= p.num_semaphores))
          fail(ErrorKind::Format, "{}: {} = {} is not a semaphore of this program (0..{})", ctx(), field, s,
               p.num_semaphores == 0 ? 0 : p.num_semaphores - 1);
      };
      check_sem("wait", in.wait);
      check_sem("signal", in.signal);
      if (in.op == Opcode::SemWait || in.op == Opcode::SemSignal) check_sem("sem", in.sem);
    }
  }
}

std::vector<uint8_t> serialize_program(const Program& p) {
  check_program(p, "serialize");
  std::vector<Section> sections;
  auto add = [&](SectionKind kind, uint32_t index, Writer&& w) {
    sections.push_back({uint32_t(kind), index, std::move(w.out)});
  };
  {
    Writer w;
    w.u32(p.num_semaphores);
    w.u32(uint32_t(p.queues.size()));
    add(SectionKind::Program, 0, std::move(w));
  }
  {
    Writer w;
    w.u64(p.dram_bytes);
    w.u64(p.sram_bytes);
    w.u64(p.acc_bytes);
    add(SectionKind::Footprint, 0, std::move(w));
  }
  {
    Writer w;
    w.u32(uint32_t(p.inputs.size()));
    for (const auto& t : p.inputs) put_binding(w, t);
    w.u32(uint32_t(p.outputs.size()));
    for (const auto& t : p.outputs) put_binding(w, t);
    add(SectionKind::Tensors, 0, std::move(w));
  }
  {
    Writer w;
    w.u32(uint32_t(p.regions.size()));
    for (const auto& r : p.regions) {
      w.str(r.name);
      w.u8(uint8_t(r.space));
      w.u64(r.base);
      w.u64(r.size);
      w.u8(r.writable ? 1 : 0);
    }
    add(SectionKind::Regions, 0, std::move(w));
  }
  {
    Writer w;
    w.u32(uint32_t(p.layers.size()));
    for (const auto& l : p.layers) {
      w.str(l.name);
      w.str(l.op);
      w.u64(l.macs);
      w.str(l.placement);
    }
    add(SectionKind::Layers, 0, std::move(w));
  }
  {
    Writer w;
    w.u32(uint32_t(p.host_ops.size()));
    for (const auto& h : p.host_ops) {
      w.str(h.op_type);
      w.i32(h.opset);
      w.blob(h.node);
      w.u32(uint32_t(h.inputs.size()));
      for (const auto& r : h.inputs) put_ref(w, r);
      w.u32(uint32_t(h.outputs.size()));
      for (const auto& r : h.outputs) put_ref(w, r);
    }
    add(SectionKind::HostOps, 0, std::move(w));
  }
  {
    Writer w;
    w.u32(uint32_t(p.metadata.size()));
    for (const auto& [k, v] : p.metadata) {
      w.str(k);
      w.str(v);
    }
    add(SectionKind::Metadata, 0, std::move(w));
  }
  for (size_t q = 0; q < p.queues.size(); ++q) {
    Writer w;
    for (size_t i = 0; i < p.queues[q].size(); ++i) {
      try {
        encode_into(p.queues[q][i], w.out);
      } catch (const Error& e) {
        fail(ErrorKind::Format, "serialize: queue {} instruction {}: {}", queue_name(int(q)), i, e.what());
      }
    }
    add(SectionKind::Code, uint32_t(q), std::move(w));
  }
  {
    Writer w;
    w.u64(p.constants_addr);
    w.bytes(p.constants.data(), p.constants.size());
    add(SectionKind::Constants, 0, std::move(w));
  }

  // Header, then the sections back to back in table order (no gaps: every byte of the
  // file is covered by the header CRC or a section CRC).
  size_t header_size = kFixedHeader + kEntryBytes * sections.size() + kHeaderTail;
  size_t total = header_size;
  for (const auto& s : sections) total += s.data.size();
  Writer h;
  h.out.reserve(total);
  h.bytes(reinterpret_cast<const uint8_t*>(kMagic), 4);
  h.u32(kLoadableFormatVersion);
  h.u32(p.isa_version);
  h.u32(uint32_t(sections.size()));
  h.u64(total);
  uint64_t offset = header_size;
  for (const auto& s : sections) {
    h.u32(s.kind);
    h.u32(s.index);
    h.u64(offset);
    h.u64(s.data.size());
    h.u32(crc32(s.data.data(), s.data.size()));
    h.u32(0);
    offset += s.data.size();
  }
  h.u32(crc32(h.out.data(), h.out.size()));
  h.u32(0);
  for (const auto& s : sections) h.bytes(s.data.data(), s.data.size());
  return std::move(h.out);
}

Program parse_program(const uint8_t* data, size_t size, const std::string& origin) {
  if (size < 4 || std::memcmp(data, kMagic, 4) != 0) {
    std::string got;
    for (size_t i = 0; i < std::min<size_t>(size, 4); ++i)
      got += std::isprint(data[i]) ? fmt::format("{}", char(data[i])) : fmt::format("\\x{:02x}", data[i]);
    fail(ErrorKind::Format, "{}: not a cardsim loadable: magic is '{}', expected 'CBIN'", origin, got);
  }
  Reader hr{data, size, 0, origin + ": header", 0};
  hr.pos = 4;
  uint32_t version = hr.u32("format version");
  if (version != kLoadableFormatVersion)
    fail(ErrorKind::Format, "{}: unsupported loadable format version {} (this cardsim reads version {})", origin,
         version, kLoadableFormatVersion);
  uint32_t isa_version = hr.u32("ISA version");
  uint32_t nsections = hr.u32("section count");
  uint64_t file_size = hr.u64("file size");
  if (nsections > kMaxSections)
    fail(ErrorKind::Format, "{}: header claims {} sections (corrupt header?)", origin, nsections);
  size_t header_size = kFixedHeader + kEntryBytes * nsections + kHeaderTail;
  if (size < header_size)
    fail(ErrorKind::Format, "{}: truncated: the header with {} sections needs {} bytes, file has {}", origin, nsections,
         header_size, size);
  uint32_t stored_hcrc = 0;
  for (int i = 0; i < 4; ++i) stored_hcrc |= uint32_t(data[header_size - kHeaderTail + i]) << (8 * i);
  if (crc32(data, header_size - kHeaderTail) != stored_hcrc)
    fail(ErrorKind::Format, "{}: checksum mismatch in the header (bytes 0..{})", origin, header_size - 1);
  for (size_t i = header_size - 4; i < header_size; ++i)
    if (data[i] != 0)
      fail(ErrorKind::Format, "{}: header byte {} is reserved and must be zero (corrupt header?)", origin, i);
  if (file_size != size) {
    if (size < file_size)
      fail(ErrorKind::Format, "{}: truncated: file is {} bytes, header says {}", origin, size, file_size);
    fail(ErrorKind::Format, "{}: {} unexpected bytes after the end of the loadable ({} bytes)", origin,
         size - file_size, file_size);
  }
  if (isa_version != kIsaVersion)
    fail(ErrorKind::Format, "{}: ISA version {} is not supported (this cardsim implements ISA version {})", origin,
         isa_version, kIsaVersion);

  struct Entry {
    uint32_t kind, index;
    uint64_t offset, size;
    uint32_t crc;
  };
  std::vector<Entry> entries(nsections);
  uint64_t expect_offset = header_size;
  for (auto& e : entries) {
    e.kind = hr.u32("section kind");
    e.index = hr.u32("section index");
    e.offset = hr.u64("section offset");
    e.size = hr.u64("section size");
    e.crc = hr.u32("section checksum");
    hr.u32("reserved");
    std::string name = section_name(e.kind, e.index);
    if (e.offset != expect_offset)
      fail(ErrorKind::Format, "{}: section '{}' starts at byte {}, expected {} (sections are contiguous)", origin, name,
           e.offset, expect_offset);
    if (e.size > size - e.offset)
      fail(ErrorKind::Format, "{}: truncated: section '{}' at offset {} needs {} bytes, file has {} after it", origin,
           name, e.offset, e.size, size - e.offset);
    if (crc32(data + e.offset, e.size) != e.crc)
      fail(ErrorKind::Format, "{}: checksum mismatch in section '{}' (bytes {}..{})", origin, name, e.offset,
           e.offset + e.size - 1);
    expect_offset = e.offset + e.size;
  }
  if (expect_offset != size)
    fail(ErrorKind::Format, "{}: {} bytes after the last section are not covered by the section table", origin,
         size - expect_offset);

  Program p;
  p.isa_version = isa_version;
  std::set<std::pair<uint32_t, uint32_t>> seen;
  bool have_program = false;
  uint32_t num_queues = 0;
  std::vector<const Entry*> code;
  for (const auto& e : entries) {
    std::string name = section_name(e.kind, e.index);
    if (!seen.insert({e.kind, e.index}).second)
      fail(ErrorKind::Format, "{}: section '{}' appears twice", origin, name);
    Reader r{data + e.offset, size_t(e.size), 0, fmt::format("{}: section '{}'", origin, name), size_t(e.offset)};
    switch (SectionKind(e.kind)) {
      case SectionKind::Program:
        p.num_semaphores = r.u32("semaphore count");
        num_queues = r.count("queue count", 0);
        if (num_queues > 4096) fail(ErrorKind::Format, "{}: {} queues (at most 4096)", r.where, num_queues);
        have_program = true;
        break;
      case SectionKind::Footprint:
        p.dram_bytes = r.u64("dram bytes");
        p.sram_bytes = r.u64("sram bytes");
        p.acc_bytes = r.u64("acc bytes");
        break;
      case SectionKind::Tensors: {
        uint32_t ni = r.count("input count", 25);
        for (uint32_t i = 0; i < ni; ++i) p.inputs.push_back(get_binding(r));
        uint32_t no = r.count("output count", 25);
        for (uint32_t i = 0; i < no; ++i) p.outputs.push_back(get_binding(r));
        break;
      }
      case SectionKind::Regions: {
        uint32_t nr = r.count("region count", 22);
        for (uint32_t i = 0; i < nr; ++i) {
          Region g;
          g.name = r.str("region name");
          size_t at = r.pos;
          uint8_t sp = r.u8("region space");
          if (sp > 3) fail(ErrorKind::Format, "{}: byte offset {}: unknown space code {}", r.where, at, sp);
          g.space = Space(sp);
          g.base = r.u64("region base");
          g.size = r.u64("region size");
          at = r.pos;
          uint8_t wr = r.u8("region writable flag");
          if (wr > 1) fail(ErrorKind::Format, "{}: byte offset {}: writable flag {} (expected 0 or 1)", r.where, at, wr);
          g.writable = wr == 1;
          p.regions.push_back(std::move(g));
        }
        break;
      }
      case SectionKind::Layers: {
        uint32_t nl = r.count("layer count", 20);
        for (uint32_t i = 0; i < nl; ++i) {
          LayerInfo l;
          l.name = r.str("layer name");
          l.op = r.str("layer op");
          l.macs = r.u64("layer macs");
          l.placement = r.str("layer placement");
          p.layers.push_back(std::move(l));
        }
        break;
      }
      case SectionKind::HostOps: {
        uint32_t nh = r.count("host op count", 20);
        for (uint32_t i = 0; i < nh; ++i) {
          HostOp h;
          h.op_type = r.str("host op type");
          h.opset = r.i32("host op opset");
          h.node = r.blob("host op node");
          uint32_t ni = r.count("host op input count", 13);
          for (uint32_t k = 0; k < ni; ++k) h.inputs.push_back(get_ref(r));
          uint32_t no = r.count("host op output count", 13);
          for (uint32_t k = 0; k < no; ++k) h.outputs.push_back(get_ref(r));
          p.host_ops.push_back(std::move(h));
        }
        break;
      }
      case SectionKind::Metadata: {
        uint32_t nm = r.count("metadata count", 8);
        for (uint32_t i = 0; i < nm; ++i) {
          size_t at = r.pos;
          std::string k = r.str("metadata key");
          std::string v = r.str("metadata value");
          // Keys are written sorted and unique; anything else is not a file we wrote.
          if (!p.metadata.empty() && !(p.metadata.rbegin()->first < k))
            fail(ErrorKind::Format, "{}: byte offset {}: metadata key '{}' is {} (keys are sorted and unique)",
                 r.where, at, k, p.metadata.count(k) ? "repeated" : "out of order");
          p.metadata.emplace_hint(p.metadata.end(), std::move(k), std::move(v));
        }
        break;
      }
      case SectionKind::Code:
        code.push_back(&e);
        r.pos = r.n;  // decoded below, once the queue count is known
        break;
      case SectionKind::Constants:
        p.constants_addr = r.u64("constants address");
        p.constants.assign(r.p + r.pos, r.p + r.n);
        r.pos = r.n;
        break;
      default:
        // A section kind this version does not know: ignore (additions never change old kinds).
        r.pos = r.n;
        break;
    }
    r.finish();
  }
  for (SectionKind k : {SectionKind::Program, SectionKind::Footprint, SectionKind::Tensors, SectionKind::Regions,
                        SectionKind::Layers, SectionKind::HostOps, SectionKind::Metadata, SectionKind::Constants})
    if (!seen.count({uint32_t(k), 0}))
      fail(ErrorKind::Format, "{}: required section '{}' is missing", origin, section_name(uint32_t(k), 0));
  (void)have_program;
  p.queues.resize(num_queues);
  std::vector<bool> have_code(num_queues, false);
  for (const Entry* e : code) {
    std::string name = section_name(e->kind, e->index);
    if (e->index >= num_queues)
      fail(ErrorKind::Format, "{}: section '{}' is for queue {} but the program has {} queues", origin, name, e->index,
           num_queues);
    have_code[e->index] = true;
    auto& q = p.queues[e->index];
    const uint8_t* c = data + e->offset;
    size_t off = 0;
    while (off < e->size) {
      try {
        q.push_back(decode(c, size_t(e->size), off));
      } catch (const Error& err) {
        fail(ErrorKind::Format, "{}: section '{}' (file offset {}): instruction {}: {}", origin, name, e->offset,
             q.size(), err.what());
      }
    }
  }
  for (uint32_t q = 0; q < num_queues; ++q)
    if (!have_code[q])
      fail(ErrorKind::Format, "{}: required section '{}' is missing", origin, section_name(uint32_t(SectionKind::Code), q));
  check_program(p, origin);
  return p;
}

void write_loadable(const Program& p, const std::string& path) {
  std::vector<uint8_t> bytes = serialize_program(p);
  // Unique per process and call, so concurrent writers (sweep workers, threads) never share
  // a temporary file; fsync before rename so a crash leaves either the old or the new file.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::Io, "{}: cannot create temporary file {}: {}", path, tmp, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(ErrorKind::Io, "{}: writing {} bytes to {} failed after {}: {}", path, bytes.size(), tmp, done,
           std::strerror(err));
    }
    done += size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Io, "{}: flushing {} failed: {}", path, tmp, std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Io, "{}: cannot rename {} into place: {}", path, tmp, std::strerror(err));
  }
}

Program read_loadable(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorKind::Io, "{}: cannot open: {}", path, std::strerror(errno));
  f.seekg(0, std::ios::end);
  std::streamoff len = f.tellg();
  f.seekg(0, std::ios::beg);
  if (len < 0) fail(ErrorKind::Io, "{}: cannot determine the file size", path);
  std::vector<uint8_t> bytes(static_cast<size_t>(len));
  f.read(reinterpret_cast<char*>(bytes.data()), len);
  if (!f) fail(ErrorKind::Io, "{}: read error after {} of {} bytes", path, f.gcount(), len);
  return parse_program(bytes.data(), bytes.size(), path);
}

}  // namespace cardsim::isa
