// The subset of the Stateless OpenPGP CLI (SOP) the interop test speaks,
// over OpenPGP.js (Mailvelope, Proton's web client). Keys are its default:
// v4 Curve25519 (Ed25519 signing, X25519 encryption). Data on stdin, result
// on stdout.
import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';

const stdin = () => new Uint8Array(readFileSync(0));
const readKey = async (path) => openpgp.readKey({ armoredKey: readFileSync(path, 'utf8') });
const out = (data) => process.stdout.write(typeof data === 'string' ? data : Buffer.from(data));

const [op, ...args] = process.argv.slice(2);
switch (op) {
  case 'generate-key': {
    // SOP's profile names: the default (v4 keys), or RFC 9580's v6 keys.
    const v6Keys = args[0] === '--profile=rfc9580';
    if (v6Keys) args.shift();
    const { privateKey } = await openpgp.generateKey({
      userIDs: [parseUserId(args[0])],
      format: 'armored',
      config: { v6Keys },
    });
    out(privateKey);
    break;
  }
  case 'extract-cert': {
    const key = await openpgp.readKey({ armoredKey: Buffer.from(stdin()).toString() });
    out(key.toPublic().armor());
    break;
  }
  case 'sign': {
    const message = await openpgp.createMessage({ binary: stdin() });
    out(await openpgp.sign({ message, signingKeys: await readKey(args[0]), detached: true }));
    break;
  }
  case 'verify': {
    const signature = await openpgp.readSignature({ armoredSignature: readFileSync(args[0], 'utf8') });
    const message = await openpgp.createMessage({ binary: stdin() });
    const { signatures } = await openpgp.verify({ message, signature, verificationKeys: await readKey(args[1]) });
    await signatures[0].verified; // throws on a bad signature
    break;
  }
  case 'encrypt': {
    let signingKeys;
    if (args[0].startsWith('--sign-with=')) signingKeys = await readKey(args.shift().slice('--sign-with='.length));
    const message = await openpgp.createMessage({ binary: stdin() });
    out(await openpgp.encrypt({ message, encryptionKeys: await readKey(args[0]), signingKeys }));
    break;
  }
  case 'decrypt': {
    const message = await openpgp.readMessage({ armoredMessage: Buffer.from(stdin()).toString() });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: await readKey(args[0]), format: 'binary' });
    out(data);
    break;
  }
  default:
    console.error(`openpgpjs-sop: unsupported: ${op}`);
    process.exit(69);
}

// "Name <address>" as OpenPGP.js wants it.
function parseUserId(userId) {
  const match = /^(.*?)\s*<([^>]+)>$/.exec(userId);
  return match ? { name: match[1], email: match[2] } : { email: userId };
}
