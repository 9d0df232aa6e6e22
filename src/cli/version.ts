/** Re-export for the CLI; the identity lives in src/version.ts so every layer may import it. */
export { SEALBOX_NAME, SEALBOX_VERSION } from '../version.ts';
