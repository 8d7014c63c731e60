import type { Setting } from '../setting.js';
import { apiSettings } from './api.js';
import { authSettings } from './auth.js';
import { billingSettings } from './billing.js';
import { coreSettings } from './core.js';
import { callSettings } from './calls.js';
import { paymentSettings } from './payments.js';
import { chatSettings } from './chat.js';
import { signalSettings } from './signal.js';

/** Every setting the product reads, in documentation order. */
export const ALL_SETTINGS: readonly Setting[] = [...coreSettings, ...apiSettings, ...authSettings, ...signalSettings, ...callSettings, ...paymentSettings, ...billingSettings, ...chatSettings];
