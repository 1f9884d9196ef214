// LUKS version 1 (the only version qemu 7.2 reads; a LUKS2 header probes as raw and is refused
// with "LUKS version 2 is not supported"). The 592-byte big-endian header is checked as
// qcrypto_block_luks_open() does without a key (qemu-img info opens with no I/O), and the
// payload must start inside the file, as block_crypto_co_getlength() requires.
import { HeaderError, type ImageSource } from '../source.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

const MAGIC = Buffer.from('LUKS\xba\xbe', 'latin1');
const HEADER_LEN = 592;
const SECTOR = 512;
const KEY_SLOT_OFFSET = 4096;
const HEADER_SECTORS = KEY_SLOT_OFFSET / SECTOR;
const NUM_KEY_SLOTS = 8;
const STRIPES = 4000;
const SLOT_DISABLED = 0x0000dead;
const SLOT_ENABLED = 0x00ac71f3;

const CIPHER_SIZES: Record<string, Array<[number, string]>> = {
  aes: [[16, 'aes-128'], [24, 'aes-192'], [32, 'aes-256']],
  cast5: [[16, 'cast5-128']],
  serpent: [[16, 'serpent-128'], [24, 'serpent-192'], [32, 'serpent-256']],
  twofish: [[16, 'twofish-128'], [24, 'twofish-192'], [32, 'twofish-256']],
};
const CIPHER_MODES = ['ecb', 'cbc', 'xts', 'ctr'];
const HASHES: Record<string, number> = { md5: 16, sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64, ripemd160: 20 };
const IVGENS = ['plain', 'plain64', 'essiv'];

/** The C string in a fixed-size field (known to hold a NUL). */
function field(h: Buffer, at: number, len: number): string {
  const f = h.subarray(at, at + len);
  const z = f.indexOf(0);
  return f.toString('latin1', 0, z < 0 ? len : z);
}

function cipherKeyLen(alg: string): number {
  return Number(/-(\d+)$/.exec(alg)![1]) / 8;
}

/** qcrypto_block_luks_splitkeylen_sectors(), in C's unsigned 32-bit arithmetic. */
function splitKeySectors(masterKeyLen: number, stripes: number): number {
  const bytes = Math.imul(masterKeyLen, stripes) >>> 0;
  const sectors = Math.ceil(bytes / SECTOR);
  return Math.ceil(sectors / HEADER_SECTORS) * HEADER_SECTORS;
}

/** qcrypto_block_luks_essiv_cipher(). */
function essivCipher(cipher: string, hash: string): string {
  const digest = HASHES[hash]!;
  if (digest === cipherKeyLen(cipher)) return cipher;
  const family = cipher.replace(/-\d+$/, '');
  const label: Record<string, string> = { aes: 'AES', serpent: 'Serpent', twofish: 'Twofish' };
  if (!label[family]) throw new HeaderError(`Cipher ${cipher} not supported with essiv`, 'unsupported-feature');
  if (digest === 16 || digest === 24 || digest === 32) return `${family}-${digest * 8}`;
  throw new HeaderError(`No ${label[family]} cipher with key size ${digest} available`, 'unsupported-feature');
}

function lookup(list: readonly string[], name: string, type: string): string {
  if (!list.includes(name)) throw new HeaderError(`${type} '${name}' not supported`, 'unsupported-feature');
  return name;
}

export const luks: FormatModule = {
  name: 'luks',

  probe(src: ImageSource): number {
    // qcrypto_block_luks_has_format(): the magic and version 1.
    const h = src.head;
    if (src.size === 0 || h.length < 8) return 0;
    return h.subarray(0, 6).equals(MAGIC) && h.readUInt16BE(6) === 1 ? 100 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    // The header, zero-filled past the end of the file as bdrv_pread() gives it.
    const h = Buffer.alloc(HEADER_LEN);
    src.head.copy(h, 0, 0, Math.min(HEADER_LEN, src.head.length));

    if (!h.subarray(0, 6).equals(MAGIC)) throw new HeaderError('Volume is not in LUKS format');
    const version = h.readUInt16BE(6);
    if (version !== 1) throw new HeaderError(`LUKS version ${version} is not supported`, 'unsupported-feature');
    if (h.subarray(8, 40).indexOf(0) < 0) throw new HeaderError('LUKS header cipher name is not NUL terminated');
    if (h.subarray(40, 72).indexOf(0) < 0) throw new HeaderError('LUKS header cipher mode is not NUL terminated');
    if (h.subarray(72, 104).indexOf(0) < 0) throw new HeaderError('LUKS header hash spec is not NUL terminated');
    const payloadSector = h.readUInt32BE(104);
    const masterKeyLen = h.readUInt32BE(108);
    const masterKeyIters = h.readUInt32BE(164);
    if (payloadSector < HEADER_SECTORS) throw new HeaderError('LUKS payload is overlapping with the header');
    if (masterKeyIters === 0) throw new HeaderError('LUKS key iteration count is zero');

    const slots = Array.from({ length: NUM_KEY_SLOTS }, (_, i) => {
      const at = 208 + i * 48;
      return {
        active: h.readUInt32BE(at),
        iterations: h.readUInt32BE(at + 4),
        keyOffset: h.readUInt32BE(at + 40),
        stripes: h.readUInt32BE(at + 44),
      };
    });
    slots.forEach((s1, i) => {
      const len1 = splitKeySectors(masterKeyLen, s1.stripes);
      if (s1.stripes !== STRIPES) {
        throw new HeaderError(`Keyslot ${i} is corrupted (stripes ${s1.stripes | 0} != ${STRIPES})`);
      }
      if (s1.active !== SLOT_DISABLED && s1.active !== SLOT_ENABLED) {
        throw new HeaderError(`Keyslot ${i} state (active/disable) is corrupted`);
      }
      if (s1.active === SLOT_ENABLED && s1.iterations === 0) {
        throw new HeaderError(`Keyslot ${i} iteration count is zero`);
      }
      if (s1.keyOffset < HEADER_SECTORS) throw new HeaderError(`Keyslot ${i} is overlapping with the LUKS header`);
      // unsigned int start1 + len1: wraps at 2^32 in qemu.
      if (((s1.keyOffset + len1) >>> 0) > payloadSector) {
        throw new HeaderError(`Keyslot ${i} is overlapping with the encrypted payload`);
      }
      for (let j = i + 1; j < NUM_KEY_SLOTS; j++) {
        const s2 = slots[j]!;
        const len2 = splitKeySectors(masterKeyLen, s2.stripes);
        // ranges_overlap() in 64-bit: last = first + len - 1.
        const last1 = BigInt(s1.keyOffset) + BigInt(len1) - 1n;
        const last2 = BigInt(s2.keyOffset) + BigInt(len2) - 1n;
        if (!(last2 < BigInt(s1.keyOffset) || last1 < BigInt(s2.keyOffset))) {
          throw new HeaderError(`Keyslots ${i} and ${j} are overlapping in the header`);
        }
      }
    });

    // qcrypto_block_luks_parse_header().
    const cipherName = field(h, 8, 32);
    const cipherModeSpec = field(h, 40, 32);
    const hashSpec = field(h, 72, 32);
    const dash = cipherModeSpec.indexOf('-');
    if (dash < 0) {
      throw new HeaderError(`Unexpected cipher mode string format '${cipherModeSpec}'`, 'unsupported-feature');
    }
    const modeName = cipherModeSpec.slice(0, dash);
    let ivgenName = cipherModeSpec.slice(dash + 1);
    let ivHash: string | null = null;
    const colon = ivgenName.indexOf(':');
    if (colon >= 0) {
      ivHash = lookup(Object.keys(HASHES), ivgenName.slice(colon + 1), 'Hash algorithm');
      ivgenName = ivgenName.slice(0, colon);
    }
    const mode = lookup(CIPHER_MODES, modeName, 'Cipher mode');
    // Key bytes for the cipher itself: XTS uses two keys.
    const keyBytes = mode === 'xts' ? Math.floor(masterKeyLen / 2) : masterKeyLen;
    const cipher = (CIPHER_SIZES[cipherName] ?? []).find(([k]) => k === keyBytes)?.[1];
    if (!cipher) {
      throw new HeaderError(`Algorithm '${cipherName}' with key size ${keyBytes | 0} bytes not supported`, 'unsupported-feature');
    }
    const hash = lookup(Object.keys(HASHES), hashSpec, 'Hash algorithm');
    const ivgen = lookup(IVGENS, ivgenName, 'IV generator');
    if (ivgen === 'essiv') {
      if (!ivHash) throw new HeaderError('Missing IV generator hash specification', 'unsupported-feature');
      essivCipher(cipher, ivHash);
    }

    const payloadOffset = payloadSector * SECTOR;
    if (payloadOffset > src.size) {
      throw new HeaderError('Could not refresh total sector count: Input/output error');
    }
    // bdrv_getlength() of the crypto node: the payload, rounded up to whole sectors.
    const virtualSize = Math.ceil((src.size - payloadOffset) / SECTOR) * SECTOR;
    const uuidRaw = h.subarray(168, 208);
    const uuidEnd = uuidRaw.indexOf(0);
    const uuid = uuidRaw.toString('utf8', 0, uuidEnd < 0 ? 40 : uuidEnd);

    const data: Record<string, unknown> = {
      'cipher-alg': cipher,
      'cipher-mode': mode,
      'ivgen-alg': ivgen,
      'hash-alg': hash,
      'payload-offset': payloadOffset,
      'master-key-iters': masterKeyIters,
      uuid,
      slots: slots.map((s) => {
        const active = s.active === SLOT_ENABLED;
        const o: Record<string, unknown> = { active, 'key-offset': s.keyOffset * SECTOR };
        if (active) {
          o.iters = s.iterations;
          o.stripes = s.stripes;
        }
        return o;
      }),
    };
    if (ivgen === 'essiv') data['ivgen-hash-alg'] = ivHash;

    const fields: Record<string, string | number | boolean | null> = {
      version,
      cipher_name: cipherName,
      cipher_mode: cipherModeSpec,
      hash_spec: hashSpec,
      payload_offset_sector: payloadSector,
      master_key_len: masterKeyLen,
      master_key_iterations: masterKeyIters,
      uuid,
      active_slots: slots.filter((s) => s.active === SLOT_ENABLED).length,
    };
    slots.forEach((s, i) => {
      fields[`slot${i}_active`] = s.active === SLOT_ENABLED;
      fields[`slot${i}_iterations`] = s.iterations;
      fields[`slot${i}_key_offset_sector`] = s.keyOffset;
      fields[`slot${i}_stripes`] = s.stripes;
    });

    return standalone({
      format: 'luks',
      virtualSize,
      encrypted: true,
      fields,
      formatSpecific: { type: 'luks', data },
    });
  },
};
