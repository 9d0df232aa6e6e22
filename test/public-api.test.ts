/** The public surface (README, docs/) fixes is exported by name from the package entry. */
import { describe, expect, it } from 'vitest';
import * as sealbox from '../src/index.ts';

describe('public API', () => {
  it('exports the names the docs list', () => {
    for (const name of [
      'Component',
      'pack',
      'generateKeyPair',
      'signEnvelope',
      'verifyEnvelope',
      'Keyring',
      'loadPolicy',
      'checkSource',
      'createLoader',
      'SealboxError',
      'EnvelopeError',
      'TrustError',
      'PolicyError',
      'SandboxError',
      'ComponentError',
      'ConfigError',
      'PackError',
      'UsageError',
    ]) {
      expect(typeof (sealbox as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('round-trips a component through the public names only', async () => {
    const key = sealbox.generateKeyPair();
    const keyring = sealbox.Keyring.empty().withKey({
      keyid: key.keyid,
      publicKey: Buffer.from(key.publicKey).toString('base64'),
      tenants: ['acme'],
      identifiers: ['*'],
      status: 'active',
    });
    class Greeter extends sealbox.Component<{ greeting: string }> {
      greet(name: string): string {
        return `${this.params.greeting}, ${name}!`;
      }
    }
    const statement = sealbox.pack(Greeter, {
      tenant: 'acme',
      identifier: 'greeter',
      version: 1,
      params: { greeting: 'Hello' },
    });
    const envelope = statement.sign(key);
    expect(sealbox.verifyEnvelope(envelope, keyring, { tenant: 'acme' }).statement.entry).toBe('Greeter');
    const loader = sealbox.createLoader({ keyring });
    try {
      const greeter = await loader.load(sealbox.encodeEnvelope(envelope), { tenant: 'acme' });
      expect(await greeter.call('greet', 'Ada')).toBe('Hello, Ada!');
    } finally {
      await loader.close();
    }
  });
});
