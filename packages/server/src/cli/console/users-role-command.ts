import { systemClock } from '@heliograph/common';
import { AdminRoles } from '../../admin/console-admins.js';
import { AccountStore } from '../../auth/accounts.js';
import { CliError, USAGE_EXIT, type Command } from '../command.js';
import { withDatabase } from '../data-dir.js';

/** `heliograph users role <username> admin|none`: whether the account may sign in to the operator console. */
export const usersRoleCommand: Command = {
  name: 'users role',
  positionals: ['<username>', '<admin|none>'],
  summary: 'Gives a built-in account the admin role (it may sign in to the console at /admin) or takes it away.',
  details: 'An admin acts in the console as a read-write API key would. Taking the role away ends its sign-ins at once.',
  options: {},
  async run({ args, config, io }) {
    const [username = '', role = ''] = args.positionals;
    if (role !== 'admin' && role !== 'none') {
      throw new CliError(`the role must be admin or none, not ${JSON.stringify(role)}`, USAGE_EXIT);
    }
    const changed = await withDatabase(config, 'accounts', (db) => new AdminRoles(db, new AccountStore(db), systemClock).setAdmin(username, role === 'admin'));
    if (!changed && role === 'admin') {
      throw new CliError(`no user ${JSON.stringify(username)}; add one with \`npx heliograph users add ${username}\``);
    }
    io.stdout.write(role === 'admin' ? `${username} is an admin of the console\n` : `${username} is not an admin of the console\n`);
    return 0;
  },
};
