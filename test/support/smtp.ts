/**
 * A real SMTP server for the e-mail tests (the `smtp-server` package on a free port of
 * 127.0.0.1, plain SMTP): it authenticates against one username and password, may refuse
 * recipients, and keeps every message it accepts with its envelope.
 */
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export interface ReceivedEmail {
  from: string;
  to: string[];
  /** The raw message, with quoted-printable soft line breaks removed. */
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  messages: ReceivedEmail[];
  /** What the server does: accept, refuse the credentials (535) or refuse every recipient (550). */
  mode: 'accept' | 'refuse-auth' | 'refuse-rcpt';
  close(): Promise<void>;
}

export const SMTP_USER = 'meridian';
export const SMTP_PASSWORD = 'smtp-password-for-tests';

/** Listens on a free port of `host` (another loopback address than 127.0.0.1 if need be). */
export async function startSmtpReceiver(host = '127.0.0.1'): Promise<SmtpReceiver> {
  const receiver: Omit<SmtpReceiver, 'port' | 'close'> = { messages: [], mode: 'accept' };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (receiver.mode !== 'refuse-auth' && auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
        callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (receiver.mode === 'refuse-rcpt')
        callback(Object.assign(new Error(`Mailbox ${address.address} unavailable`), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        receiver.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8').replace(/=\r\n/g, ''),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('the SMTP server has no port');
  return Object.assign(receiver, {
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as SmtpReceiver;
}

/** The SMTP settings of a channel that sends through `receiver` as the user it accepts. */
export const smtpSettingsFor = (receiver: SmtpReceiver, to: string[]) => ({
  host: '127.0.0.1',
  port: receiver.port,
  tls: 'none' as const,
  username: SMTP_USER,
  password: SMTP_PASSWORD,
  from: 'meridian@example.com',
  to,
});

/**
 * A receiver for the file (or the enclosing `describe`): started by beforeAll, closed by
 * afterAll, and accepting again with no messages before each test. Read it inside tests.
 */
export function useSmtpReceiver(): SmtpReceiver {
  let receiver: SmtpReceiver | undefined;
  beforeAll(async () => {
    receiver = await startSmtpReceiver();
  });
  afterAll(() => receiver?.close());
  beforeEach(() => {
    receiver!.mode = 'accept';
    receiver!.messages.length = 0;
  });
  return new Proxy({} as SmtpReceiver, {
    get: (_, property) => Reflect.get(receiver!, property),
    set: (_, property, value) => Reflect.set(receiver!, property, value),
  });
}
