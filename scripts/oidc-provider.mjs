// Hearth's test identity provider: a real OpenID Connect provider (npm's oidc-provider) on
// loopback, for the sign-in tests. Run as
//
//   node scripts/oidc-provider.mjs PORT REDIRECT_URI
//
// with HEARTH_OIDC_MODULES naming the node_modules folder that holds oidc-provider (the test
// command installs it in ~/.cache/hearth-oidc). One client: id "hearth", secret
// "hearth-test-secret", code flow with PKCE required. Its development login form takes any
// login name; the account's claims come from that name: email <name>@idp.example, confirmed
// unless the name starts with "unverified". Prints "ready" once listening.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [port, redirect] = process.argv.slice(2);
const modules = process.env.HEARTH_OIDC_MODULES;
if (!port || !redirect || !modules) {
  console.error('usage: HEARTH_OIDC_MODULES=... node oidc-provider.mjs PORT REDIRECT_URI');
  process.exit(2);
}
const { default: Provider } = await import(
  pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'hearth',
      client_secret: 'hearth-test-secret',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // The ID token carries the claims itself (Hearth reads no userinfo endpoint).
  conformIdTokenClaims: false,
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return {
        sub: `idp-${id}`,
        email: `${id}@idp.example`,
        email_verified: !id.startsWith('unverified'),
        name: `${id} from the provider`,
        preferred_username: id,
      };
    },
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['hearth test provider only'] },
});
provider.listen(Number(port), '127.0.0.1', () => {
  console.log('ready');
});
