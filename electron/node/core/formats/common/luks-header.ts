// The LUKS1 header as qemu 7.2 reads it without a key (QCRYPTO_BLOCK_OPEN_NO_IO, as qemu-img info
// opens): qcrypto_block_luks_load_header(), _check_header() and _parse_header() in their order
// and wording, and _get_info() for what qemu-img shows. One reader for a raw LUKS volume and for
// the crypto header of a qcow2 with encrypt.format=luks: qemu uses the same code for both.
import { HeaderError } from '../../source.js';
import { qemuText } from './text.js';

export const LUKS_MAGIC = Buffer.from('LUKS\xba\xbe', 'latin1');
/** sizeof(QCryptoBlockLUKSHeader): what qemu reads, key material excluded. */
export const LUKS_HEADER_SIZE = 592;
export const LUKS_SECTOR = 512;
/** QCRYPTO_BLOCK_LUKS_KEY_SLOT_OFFSET in sectors: where key material may start. */
const HEADER_SECTORS = 4096 / LUKS_SECTOR;
const NUM_KEY_SLOTS = 8;
const STRIPES = 4000;
const SLOT_DISABLED = 0x0000dead;
const SLOT_ENABLED = 0x00ac71f3;

const CIPHER_KEY_BYTES: Record<string, number[]> = {
  aes: [16, 24, 32],
  cast5: [16],
  serpent: [16, 24, 32],
  twofish: [16, 24, 32],
};
const ESSIV_FAMILIES: Record<string, string> = { aes: 'AES', serpent: 'Serpent', twofish: 'Twofish' };
const CIPHER_MODES = ['ecb', 'cbc', 'xts', 'ctr'];
const HASH_DIGEST: Record<string, number> = { md5: 16, sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64, ripemd160: 20 };
const IVGENS = ['plain', 'plain64', 'essiv'];

export interface LuksSlot {
  active: boolean;
  iterations: number;
  /** In sectors. */
  keyOffset: number;
  stripes: number;
}

export interface LuksHeader {
  version: number;
  /** The three strings as stored (each known to end in a NUL within its field). */
  cipherName: string;
  cipherModeSpec: string;
  hashSpec: string;
  payloadSector: number;
  masterKeyLen: number;
  masterKeyIters: number;
  /** As qemu-img's JSON shows it. */
  uuid: string;
  slots: LuksSlot[];
  /** What qemu makes of the strings. */
  cipherAlg: string;
  cipherMode: string;
  ivgenAlg: string;
  ivgenHashAlg: string | null;
  hashAlg: string;
}

/** A fixed-size string field; null when it has no NUL (qemu refuses such a header). */
function field(h: Buffer, at: number): string | null {
  const z = h.subarray(at, at + 32).indexOf(0);
  return z < 0 ? null : h.toString('latin1', at, at + z);
}

/** qcrypto_block_luks_splitkeylen_sectors(): the product is a 32-bit unsigned int in qemu. */
function splitKeySectors(masterKeyLen: number, stripes: number): number {
  const bytes = Math.imul(masterKeyLen, stripes) >>> 0;
  return Math.ceil(Math.ceil(bytes / LUKS_SECTOR) / HEADER_SECTORS) * HEADER_SECTORS;
}

/** Slot checks of qcrypto_block_luks_check_header(); sector sums wrap at 2^32 as in qemu 7.2. */
function checkSlots(raw: Array<LuksSlot & { state: number }>, masterKeyLen: number, payloadSector: number): void {
  const ends = raw.map((s) => (s.keyOffset + splitKeySectors(masterKeyLen, s.stripes)) >>> 0);
  raw.forEach((s1, i) => {
    if (s1.stripes !== STRIPES) throw new HeaderError(`Keyslot ${i} is corrupted (stripes ${s1.stripes | 0} != ${STRIPES})`);
    if (s1.state !== SLOT_DISABLED && s1.state !== SLOT_ENABLED) {
      throw new HeaderError(`Keyslot ${i} state (active/disable) is corrupted`);
    }
    if (s1.active && s1.iterations === 0) throw new HeaderError(`Keyslot ${i} iteration count is zero`);
    if (s1.keyOffset < HEADER_SECTORS) throw new HeaderError(`Keyslot ${i} is overlapping with the LUKS header`);
    if (ends[i]! > payloadSector) throw new HeaderError(`Keyslot ${i} is overlapping with the encrypted payload`);
    for (let j = i + 1; j < raw.length; j++) {
      if (ends[i]! > raw[j]!.keyOffset && ends[j]! > s1.keyOffset) {
        throw new HeaderError(`Keyslots ${i} and ${j} are overlapping in the header`);
      }
    }
  });
}

function lookup(list: readonly string[], name: string, type: string): string {
  if (!list.includes(name)) throw new HeaderError(`${type} '${name}' not supported`, 'unsupported-feature');
  return name;
}

/** qcrypto_block_luks_essiv_cipher(): only checked, qemu-img shows nothing of it. */
function checkEssivCipher(cipherName: string, cipherAlg: string, keyBytes: number, ivHash: string): void {
  const digest = HASH_DIGEST[ivHash]!;
  if (digest === keyBytes) return;
  const family = ESSIV_FAMILIES[cipherName];
  if (!family) throw new HeaderError(`Cipher ${cipherAlg} not supported with essiv`, 'unsupported-feature');
  if (![16, 24, 32].includes(digest)) {
    throw new HeaderError(`No ${family} cipher with key size ${digest} available`, 'unsupported-feature');
  }
}

/** qcrypto_block_luks_parse_header(): the cipher, mode, IV generator and hash named by the strings. */
function parseSpecs(cipherName: string, cipherModeSpec: string, hashSpec: string, masterKeyLen: number) {
  const dash = cipherModeSpec.indexOf('-');
  if (dash < 0) throw new HeaderError(`Unexpected cipher mode string format '${cipherModeSpec}'`);
  let ivgenName = cipherModeSpec.slice(dash + 1);
  let ivgenHashAlg: string | null = null;
  const colon = ivgenName.indexOf(':');
  if (colon >= 0) {
    ivgenHashAlg = lookup(Object.keys(HASH_DIGEST), ivgenName.slice(colon + 1), 'Hash algorithm');
    ivgenName = ivgenName.slice(0, colon);
  }
  const cipherMode = lookup(CIPHER_MODES, cipherModeSpec.slice(0, dash), 'Cipher mode');
  // XTS takes two keys of half the master key each.
  const keyBytes = cipherMode === 'xts' ? Math.floor(masterKeyLen / 2) : masterKeyLen;
  if (!(CIPHER_KEY_BYTES[cipherName] ?? []).includes(keyBytes)) {
    throw new HeaderError(`Algorithm '${cipherName}' with key size ${keyBytes | 0} bytes not supported`, 'unsupported-feature');
  }
  const cipherAlg = `${cipherName}-${keyBytes * 8}`;
  const hashAlg = lookup(Object.keys(HASH_DIGEST), hashSpec, 'Hash algorithm');
  const ivgenAlg = lookup(IVGENS, ivgenName, 'IV generator');
  if (ivgenAlg === 'essiv') {
    if (ivgenHashAlg === null) throw new HeaderError('Missing IV generator hash specification');
    checkEssivCipher(cipherName, cipherAlg, keyBytes, ivgenHashAlg);
  }
  return { cipherAlg, cipherMode, ivgenAlg, ivgenHashAlg, hashAlg };
}

/**
 * The header from its LUKS_HEADER_SIZE bytes as qemu read them (zero-filled past the end of the
 * file); throws HeaderError with qemu's message for what qemu refuses.
 */
export function readLuksHeader(h: Buffer): LuksHeader {
  if (h.length < LUKS_HEADER_SIZE) throw new Error('readLuksHeader: short buffer');
  if (!h.subarray(0, 6).equals(LUKS_MAGIC)) throw new HeaderError('Volume is not in LUKS format');
  const version = h.readUInt16BE(6);
  if (version !== 1) throw new HeaderError(`LUKS version ${version} is not supported`, 'unsupported-feature');
  const cipherName = field(h, 8);
  if (cipherName === null) throw new HeaderError('LUKS header cipher name is not NUL terminated');
  const cipherModeSpec = field(h, 40);
  if (cipherModeSpec === null) throw new HeaderError('LUKS header cipher mode is not NUL terminated');
  const hashSpec = field(h, 72);
  if (hashSpec === null) throw new HeaderError('LUKS header hash spec is not NUL terminated');
  const payloadSector = h.readUInt32BE(104);
  const masterKeyLen = h.readUInt32BE(108);
  const masterKeyIters = h.readUInt32BE(164);
  if (payloadSector < HEADER_SECTORS) throw new HeaderError('LUKS payload is overlapping with the header');
  if (masterKeyIters === 0) throw new HeaderError('LUKS key iteration count is zero');

  const raw = Array.from({ length: NUM_KEY_SLOTS }, (_, i) => {
    const at = 208 + i * 48;
    const state = h.readUInt32BE(at);
    return {
      state,
      active: state === SLOT_ENABLED,
      iterations: h.readUInt32BE(at + 4),
      keyOffset: h.readUInt32BE(at + 40),
      stripes: h.readUInt32BE(at + 44),
    };
  });
  checkSlots(raw, masterKeyLen, payloadSector);
  const specs = parseSpecs(cipherName, cipherModeSpec, hashSpec, masterKeyLen);
  return {
    version,
    cipherName,
    cipherModeSpec,
    hashSpec,
    payloadSector,
    masterKeyLen,
    masterKeyIters,
    uuid: qemuText(h.subarray(168, 208)),
    slots: raw.map(({ active, iterations, keyOffset, stripes }) => ({ active, iterations, keyOffset, stripes })),
    ...specs,
  };
}

/** qcrypto_block_luks_get_info(): qemu-img's LUKS object, in QAPI's key order. */
export function luksInfo(l: LuksHeader): Record<string, unknown> {
  const info: Record<string, unknown> = {
    'cipher-alg': l.cipherAlg,
    'cipher-mode': l.cipherMode,
    'ivgen-alg': l.ivgenAlg,
  };
  if (l.ivgenAlg === 'essiv') info['ivgen-hash-alg'] = l.ivgenHashAlg;
  info['hash-alg'] = l.hashAlg;
  info['payload-offset'] = l.payloadSector * LUKS_SECTOR;
  info['master-key-iters'] = l.masterKeyIters;
  info.uuid = l.uuid;
  info.slots = l.slots.map((s) =>
    s.active
      ? { active: true, iters: s.iterations, stripes: s.stripes, 'key-offset': s.keyOffset * LUKS_SECTOR }
      : { active: false, 'key-offset': s.keyOffset * LUKS_SECTOR },
  );
  return info;
}
