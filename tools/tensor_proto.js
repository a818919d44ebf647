'use strict';
// Minimal reader/writer for onnx.TensorProto (the .pb files of ONNX test data sets).
// Hand-written on purpose: only ~10 fields are needed, and a protobuf library would be one
// more dependency to pin and install for a few dozen lines of wire-format code.
//
// Field numbers (onnx.proto): dims=1 (int64, packed or not), data_type=2, float_data=4,
// int32_data=5, string_data=6, int64_data=7, name=8, raw_data=9, double_data=10,
// uint64_data=11, data_location=14 (EXTERNAL is rejected). Others are skipped.

// ONNX TensorProto.DataType -> onnxruntime tensor type, bytes per element, typed array.
const DATA_TYPES = {
  1: { ort: 'float32', size: 4, Array: Float32Array },
  2: { ort: 'uint8', size: 1, Array: Uint8Array },
  3: { ort: 'int8', size: 1, Array: Int8Array },
  4: { ort: 'uint16', size: 2, Array: Uint16Array },
  5: { ort: 'int16', size: 2, Array: Int16Array },
  6: { ort: 'int32', size: 4, Array: Int32Array },
  7: { ort: 'int64', size: 8, Array: BigInt64Array },
  8: { ort: 'string', size: 0, Array: Array },
  9: { ort: 'bool', size: 1, Array: Uint8Array },
  10: { ort: 'float16', size: 2, Array: Uint16Array }, // raw IEEE half bits
  11: { ort: 'float64', size: 8, Array: Float64Array },
  12: { ort: 'uint32', size: 4, Array: Uint32Array },
  13: { ort: 'uint64', size: 8, Array: BigUint64Array },
};
const ORT_TO_ONNX = Object.fromEntries(Object.entries(DATA_TYPES).map(([k, v]) => [v.ort, Number(k)]));

class ProtoError extends Error {}

function fail(where, msg) {
  throw new ProtoError(`${where}: ${msg}`);
}

// ---------------------------------------------------------------- reading
class Reader {
  constructor(buf, where) {
    this.buf = buf;
    this.pos = 0;
    this.where = where;
  }
  eof() {
    return this.pos >= this.buf.length;
  }
  varint() { // as BigInt: int64 dims/values can exceed 2^53
    let result = 0n;
    let shift = 0n;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.buf.length) fail(this.where, `truncated varint at byte ${start}`);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) fail(this.where, `varint longer than 10 bytes at byte ${start}`);
    }
    return BigInt.asUintN(64, result);
  }
  bytes() {
    const len = Number(this.varint());
    const start = this.pos;
    if (start + len > this.buf.length) {
      fail(this.where, `length-delimited field at byte ${start} needs ${len} bytes, only ${this.buf.length - start} left`);
    }
    this.pos += len;
    return this.buf.subarray(start, start + len);
  }
  fixed(n) {
    if (this.pos + n > this.buf.length) fail(this.where, `truncated fixed${n * 8} at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wireType, fieldNumber) {
    switch (wireType) {
      case 0: this.varint(); break;
      case 1: this.fixed(8); break;
      case 2: this.bytes(); break;
      case 5: this.fixed(4); break;
      default: fail(this.where, `field ${fieldNumber} has unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

// Reads a repeated scalar field that may be packed (wire type 2) or not.
function readRepeated(reader, wireType, scalarWire, readOne, out) {
  if (wireType === 2) {
    const sub = new Reader(reader.bytes(), reader.where);
    while (!sub.eof()) out.push(readOne(sub));
  } else if (wireType === scalarWire) {
    out.push(readOne(reader));
  } else {
    fail(reader.where, `repeated field has wire type ${wireType}, expected ${scalarWire} or 2`);
  }
}

const readFloat = (r) => Buffer.from(r.fixed(4)).readFloatLE(0);
const readDouble = (r) => Buffer.from(r.fixed(8)).readDoubleLE(0);
const readInt64 = (r) => BigInt.asIntN(64, r.varint());
const readUint64 = (r) => r.varint();
const readInt32 = (r) => Number(BigInt.asIntN(32, r.varint()));

// Decodes a serialized TensorProto into {name, dataType, dims (Number[]), data (typed array)}.
function decodeTensor(buf, where = 'TensorProto') {
  const r = new Reader(buf, where);
  const dims = [];
  const floatData = [], int32Data = [], int64Data = [], doubleData = [], uint64Data = [], stringData = [];
  let dataType = 0, name = '', raw = null;
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    switch (field) {
      case 1: readRepeated(r, wire, 0, readInt64, dims); break;
      case 2: dataType = Number(r.varint()); break;
      case 4: readRepeated(r, wire, 5, readFloat, floatData); break;
      case 5: readRepeated(r, wire, 0, readInt32, int32Data); break;
      case 6: stringData.push(Buffer.from(r.bytes()).toString('utf8')); break;
      case 7: readRepeated(r, wire, 0, readInt64, int64Data); break;
      case 8: name = Buffer.from(r.bytes()).toString('utf8'); break;
      case 9: raw = r.bytes(); break;
      case 10: readRepeated(r, wire, 1, readDouble, doubleData); break;
      case 11: readRepeated(r, wire, 0, readUint64, uint64Data); break;
      case 14: if (Number(r.varint()) === 1) fail(where, 'external data (data_location=EXTERNAL) is not supported'); break;
      default: r.skip(wire, field);
    }
  }
  const info = DATA_TYPES[dataType];
  if (!info) fail(where, `data_type ${dataType} is not supported (expected one of ${Object.keys(DATA_TYPES).join(',')})`);
  for (const d of dims) if (d < 0n) fail(where, `negative dimension ${d}`);
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  let data;
  if (info.ort === 'string') {
    data = stringData;
  } else if (raw !== null) {
    if (raw.length !== count * info.size) {
      fail(where, `raw_data has ${raw.length} bytes, expected ${count} elements x ${info.size} bytes = ${count * info.size} for dims [${shape}]`);
    }
    // Copy into an aligned buffer (raw may start at an odd offset); files are little-endian like the host.
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    data = new info.Array(copy.buffer, 0, count);
  } else {
    let src;
    switch (info.ort) {
      case 'float32': src = floatData; break;
      case 'float64': src = doubleData; break;
      case 'int64': src = int64Data; break;
      case 'uint32': case 'uint64': src = uint64Data; break;
      default: src = int32Data; // int8/uint8/int16/uint16/int32/bool/float16 live in int32_data
    }
    if (src.length !== count) fail(where, `typed data field holds ${src.length} values, expected ${count} for dims [${shape}]`);
    data = new info.Array(count);
    for (let i = 0; i < count; i++) {
      data[i] = info.ort === 'uint64' ? BigInt(src[i]) : info.ort === 'uint32' ? Number(src[i]) : src[i];
    }
  }
  if (data.length !== count) fail(where, `holds ${data.length} values, expected ${count} for dims [${shape}]`);
  return { name, dataType, ortType: info.ort, dims: shape, data };
}

// ---------------------------------------------------------------- writing
function encodeVarint(value, out) {
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

// Encodes {name, ortType, dims, data} as a TensorProto with raw_data (string tensors use string_data).
function encodeTensor({ name, ortType, dims, data }) {
  const dataType = ORT_TO_ONNX[ortType];
  if (!dataType) fail(`tensor '${name}'`, `onnxruntime type '${ortType}' has no TensorProto mapping`);
  const head = [];
  for (const d of dims) { head.push(0x08); encodeVarint(d, head); } // dims, unpacked like onnx's own writer
  head.push(0x10); encodeVarint(dataType, head);
  const parts = [Buffer.from(head)];
  const pushBytesField = (tag, bytes) => {
    const h = [tag];
    encodeVarint(bytes.length, h);
    parts.push(Buffer.from(h), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  };
  if (name) pushBytesField(0x42, Buffer.from(name, 'utf8'));
  if (ortType === 'string') {
    for (const s of data) pushBytesField(0x32, Buffer.from(String(s), 'utf8'));
  } else {
    const info = DATA_TYPES[dataType];
    const typed = data instanceof info.Array ? data : info.Array.from(data);
    pushBytesField(0x4a, new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  }
  return Buffer.concat(parts);
}

module.exports = { decodeTensor, encodeTensor, DATA_TYPES, ORT_TO_ONNX, ProtoError };
