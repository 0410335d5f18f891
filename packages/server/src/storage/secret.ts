/**
 * Returns the HS256 signing secret kept in `dataDir/jwt-secret`, generating 32 random bytes
 * (base64url) with file mode 0600 on first use.
 */
export function loadOrCreateSecret(dataDir: string): string {
  throw new Error(`not implemented: loadOrCreateSecret(${dataDir})`);
}
