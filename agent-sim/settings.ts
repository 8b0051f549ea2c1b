/**
 * The agent's settings, with the names and meanings of ESF's provisioning agent
 * (docs/PROTOCOL.md §11). Stored in the device's state directory as settings.json.
 */
export interface AgentSettings {
  /** Provisioning runs at start-up only while enabled; set to false after success. */
  readonly enabled: boolean;
  /** Set to true after success: the agent goes straight to its account broker. */
  readonly provisioned: boolean;
  /** Check that the chain received leads to the trusted root before believing a reply. */
  readonly 'ca-authentication': boolean;
  /** The provision broker, mqtts://host:8883 or mqtt://host:1883; several, comma-separated, are tried in turn when one cannot be reached. */
  readonly 'broker-url': string;
  /** The provisioning account shared by devices being provisioned. */
  readonly 'account-name': string;
  /**
   * Provisioning user name; default: the client id, as the admin API creates it when the operator
   * names none. 'provisioning-code' for a device given a provisioning code (PROTOCOL.md §18), the
   * code then being the password. Empty for a device with a factory certificate (§17): it sends
   * neither, its certificate says who it is.
   */
  readonly username: string;
  readonly password: string;
  readonly 'activation-key'?: string;
  /**
   * Cloud discovery (https://host:port, PROTOCOL.md §19): a device with a factory certificate asks
   * it on first boot which provision broker to use, in place of `broker-url`.
   */
  readonly 'discovery-url'?: string;
  /** MQTT client id; default: the MAC in upper case without ':'. */
  readonly 'client-id': string;
  /**
   * Milliseconds to wait for a reply, and the bound of every other wait: CONNACK (TLS handshake
   * included), SUBACK, PUBACK, each bundle download, closing a connection.
   */
  readonly timeout: number;
  /** Milliseconds between attempts. */
  readonly 'retry-interval': number;
  /** Attempts before giving up; -1 = forever. */
  readonly 'retry-max-attempts': number;
  /** Send a CSR for a key made on the device (true), or let the platform make the key (false). */
  readonly 'use-csr': boolean;
  /** Device facts sent with the request. */
  readonly mac: string;
  readonly serial: string;
  readonly model?: string;
  readonly firmware?: string;
}

export const defaultSettings = {
  enabled: true,
  provisioned: false,
  'ca-authentication': true,
  'broker-url': 'mqtts://localhost:8883',
  'account-name': 'provisioning',
  timeout: 30_000,
  'retry-interval': 10_000,
  'retry-max-attempts': 5,
  'use-csr': true,
} as const;

/**
 * The client id defaults to the MAC in upper case without ':' (ESF's default) and the user name
 * to the client id: the user name the admin API gives a request when the operator names none
 * (ESF's own default, MAC-serial, matches no request the API creates by default: CONNACK 4).
 */
export function settingsFor(given: Partial<AgentSettings> & { readonly mac: string; readonly serial: string; readonly password: string }): AgentSettings {
  const clientId = given['client-id'] ?? given.mac.replace(/:/g, '').toUpperCase();
  return {
    ...defaultSettings,
    ...given,
    'client-id': clientId,
    username: given.username ?? clientId,
  };
}
