// A real OpenID Connect provider for the hospital sign-on tests (tests/oidc): node's
// oidc-provider, one confidential client, PKCE (S256) required, and test users whose groups
// claim the service maps to teams and roles. Its development interactions (a log-in form that
// takes any password, then a consent page) are what a browser fills in.
//
// Configured by the environment: ISSUER (http://127.0.0.1:PORT), CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URI. Prints "ready" once it listens.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET || !REDIRECT_URI) {
  console.error('ISSUER, CLIENT_ID, CLIENT_SECRET and REDIRECT_URI are required');
  process.exit(2);
}

// The people the tests sign in as (any password). Their groups are the provider's own names.
const USERS = {
  'cardio.doc': { name: 'Dr Cardio Doc', groups: ['cardio-clinicians', 'staff'] },
  'consent.admin': { name: 'Ada Admin', groups: ['consent-admins', 'staff'] },
  'unverified.doc': { name: 'Dr Unverified', groups: ['cardio-clinicians'], emailVerified: false },
  visitor: { name: 'A Visitor', groups: ['visitors'] },
};

// A fresh signing key each run: the service must read it from the JWKS, never know it.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  // RFC 7636: every authorization request must carry an S256 challenge.
  pkce: { methods: ['S256'], required: () => true },
  jwks: { keys: [signingKey] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The scope claims in the ID token itself, as hospital providers usually send groups.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['consent-tests-only-cookie-key'] },
  async findAccount(ctx, id) {
    const user = USERS[id] ?? { name: id, groups: [] };
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@hospital.test`,
          email_verified: user.emailVerified ?? true,
          name: user.name,
          groups: user.groups,
        };
      },
    };
  },
});
provider.proxy = false;

const port = Number(new URL(ISSUER).port);
provider.listen(port, '127.0.0.1', () => {
  console.log('ready');
});
