import { invalidInput } from '../../api/errors.js';
import { elementSize, fromRawBytes, toRawBytes, type Datatype, type NumericArray, type TensorData } from '../../api/datatype.js';

/**
 * Raw tensor bytes as the binary tensor data extension and gRPC `raw_*_contents`
 * carry them: little-endian elements; BYTES as 4-byte little-endian length + bytes.
 */
export function decodeRaw(datatype: Datatype, bytes: Uint8Array, count: number, field: string): TensorData {
  if (datatype === 'BYTES') {
    const out: Uint8Array[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    while (pos < bytes.byteLength) {
      // Checked before each element, not after the loop: a body of empty elements would
      // otherwise allocate one view per four bytes before the count is compared.
      if (out.length === count) throw invalidInput(`${field}: BYTES data holds more elements than the shape's ${count}`, field);
      if (pos + 4 > bytes.byteLength) throw invalidInput(`${field}: BYTES element ${out.length} has a truncated length prefix`, field);
      const len = view.getUint32(pos, true);
      pos += 4;
      if (pos + len > bytes.byteLength) throw invalidInput(`${field}: BYTES element ${out.length} declares ${len} bytes but only ${bytes.byteLength - pos} remain`, field);
      out.push(bytes.subarray(pos, pos + len));
      pos += len;
    }
    if (out.length < count) throw invalidInput(`${field}: ${out.length} BYTES elements do not fill the shape (${count} expected)`, field);
    return out;
  }
  const size = elementSize(datatype)!;
  if (bytes.byteLength !== count * size) {
    throw invalidInput(`${field}: ${bytes.byteLength} bytes of binary data, expected ${count * size} (${count} elements of ${datatype})`, field);
  }
  return fromRawBytes(datatype, bytes);
}

export function encodeRaw(datatype: Datatype, data: TensorData): Uint8Array {
  if (datatype !== 'BYTES') return toRawBytes(data as NumericArray);
  const parts = data as Uint8Array[];
  let total = 0;
  for (const p of parts) total += 4 + p.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const p of parts) {
    view.setUint32(pos, p.byteLength, true);
    out.set(p, pos + 4);
    pos += 4 + p.byteLength;
  }
  return out;
}
