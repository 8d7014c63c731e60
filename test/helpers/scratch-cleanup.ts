import { afterAll } from 'vitest';
import { removeScratchDirs } from './scratch.js';

// Set-up file of both vitest projects: the last after-hook of every test file.
afterAll(() => removeScratchDirs());
