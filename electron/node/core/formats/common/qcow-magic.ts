// "QFI\xfb": the magic of qcow (version 1) and qcow2 (versions 2 and 3) alike; the version
// that follows it tells them apart.
export const QCOW_MAGIC = 0x514649fb;
