// The C integer limits and qemu block-layer bounds that header checks reproduce.

/** Mask for uint64_t arithmetic done in bigint. */
export const U64 = (1n << 64n) - 1n;
export const INT64_MAX = (1n << 63n) - 1n;
export const INT_MAX = 0x7fffffff;
/** qemu's BDRV_MAX_LENGTH: no request may reach past it (QEMU_ALIGN_DOWN(INT64_MAX, 1 GiB)). */
export const BDRV_MAX_LENGTH = INT64_MAX - (INT64_MAX % (1n << 30n));

/** qemu's BDRV_REQUEST_MAX_BYTES: one read is at most INT_MAX bytes, in whole 512-byte sectors. */
export const BDRV_REQUEST_MAX_BYTES = (0x7fffffff >> 9) * 512;
