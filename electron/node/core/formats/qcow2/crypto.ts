// qcow2 encryption: the crypto header extension and the LUKS header it points to, opened as
// qemu does there (qcrypto_block_open() with QCRYPTO_BLOCK_OPEN_NO_IO, inside qcow2_read_extensions()).
import { HeaderError } from '../../source.js';
import { LUKS_HEADER_SIZE, luksInfo, readLuksHeader } from '../common/luks-header.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';
import type { ExtContext } from './ext-context.js';
import { CRYPT_LUKS } from './header.js';

/** The crypto header extension at `offset` (`len` bytes): qemu-img's `encrypt` object. */
export function readCryptoExt(r: ZeroFillReader, offset: number, len: number, ctx: ExtContext): Record<string, unknown> {
  if (ctx.cryptMethod !== CRYPT_LUKS) {
    throw new HeaderError('CRYPTO header extension only expected with LUKS encryption method');
  }
  if (len !== 16) throw new HeaderError(`CRYPTO header extension size ${len}, but expected size 16`);
  const d = r.read(offset, 16, 'Unable to read CRYPTO header extension');
  const cOffset = d.readBigUInt64BE(0);
  const cLength = d.readBigUInt64BE(8);
  if (cOffset % BigInt(ctx.clusterSize) !== 0n) {
    throw new HeaderError(`Encryption header offset '${cOffset}' is not a multiple of cluster size '${ctx.clusterSize}'`);
  }
  // The LUKS header is read through qcow2_crypto_hdr_read_func(), which stays inside the
  // extension's length.
  if (BigInt(LUKS_HEADER_SIZE) > cLength) throw new HeaderError('Request for data outside of extension header');
  const header = readLuksHeader(r.read(cOffset, LUKS_HEADER_SIZE, 'Could not read encryption header'));
  return { format: 'luks', ...luksInfo(header) };
}
