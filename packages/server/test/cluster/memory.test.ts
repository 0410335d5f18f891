import { busContract } from './bus-contract.js';
import { directoryContract } from './directory-contract.js';
import { MemoryHarness } from './harness.js';

busContract('memory', async () => new MemoryHarness());
directoryContract('memory', async () => new MemoryHarness());
