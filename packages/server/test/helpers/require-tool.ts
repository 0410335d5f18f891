import { spawnSync } from 'node:child_process';

/**
 * Whether an OS tool a test needs is installed. In CI (`CI=true`) a missing tool fails the run;
 * elsewhere the test may skip, with a loud notice naming the Debian package to install.
 */
export function haveTool(command: string, debianPackage: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (!found) {
    const message = `${command} is not installed: apt-get install ${debianPackage}`;
    if (process.env.CI === 'true') {
      throw new Error(`${message} (required in CI)`);
    }
    console.warn(`\n*** SKIPPING tests that need ${command}. ${message} ***\n`);
  }
  return found;
}
