/** The signaling protocol version announced in the `join` reply; bumped on breaking changes. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol clients offer (with `bearer.<token>`); echoed back on success. */
export const SIGNAL_SUBPROTOCOL = 'vidivo.v1';
