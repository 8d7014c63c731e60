export * from './close-codes.js';
export * from './messages.js';
export * from './encode.js';
export { CLIENT_SCHEMAS, frameId, parseClientFrame, type ParsedFrame } from './schemas.js';
export { PROTOCOL_VERSION, SIGNAL_SUBPROTOCOL } from './version.js';
