/** The packer identity stamped into statements (`packer`), and `sealbox --version`. */
export const SEALBOX_NAME = 'sealbox';
export const SEALBOX_VERSION = '0.2.0';
