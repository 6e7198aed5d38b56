import { describe, expect, it } from 'vitest';
import { clientConfigFor } from './registration.ts';

describe('which client the app is for a server', () => {
  const app = { clientId: 'app-client', clientSecret: 's3cret', clientName: 'My app', clientMetadataUrl: 'https://app.example/client.json' };

  it("a server the app configured uses the app's pre-registered client", () => {
    expect(clientConfigFor({}, app)).toEqual(app);
  });

  it("a server with a client id of its own uses that one, never with the app's secret", () => {
    expect(clientConfigFor({ clientId: 'its-own' }, app)).toEqual({ clientId: 'its-own', clientName: 'My app', clientMetadataUrl: 'https://app.example/client.json' });
    expect(clientConfigFor({ clientId: 'its-own', added: true }, app)).toEqual({ clientId: 'its-own', clientName: 'My app', clientMetadataUrl: 'https://app.example/client.json' });
  });

  it("a server a person added never gets the app's client id, which its authorization server never issued: metadata document or registration instead", () => {
    expect(clientConfigFor({ added: true }, app)).toEqual({ clientName: 'My app', clientMetadataUrl: 'https://app.example/client.json' });
  });
});
