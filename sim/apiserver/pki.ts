// The credentials of one simulated cluster, made fresh each time it starts, as kubeadm and kind make theirs: a CA, a
// serving certificate for 127.0.0.1 signed by it, a client certificate for the admin (CN kubernetes-admin, in group
// system:masters), and a bearer token. ECDSA P-256 keys: quick to make, and what Go's TLS stack takes as is.
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata API
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ClusterPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a bearer token the API server accepts as the admin too */
  token: string;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // a positive serial number
  return b.toString('hex');
}

export interface PkiOptions {
  /** how long the certificates are valid; default a year, like kubeadm's leaf certificates */
  validDays?: number;
  /** the cluster's name in the CA's subject */
  clusterName?: string;
}

/** Makes the CA, the server and client certificates (PEM) and a token. */
export async function generateClusterPki(opts: PkiOptions = {}): Promise<ClusterPki> {
  const notBefore = new Date(Date.now() - 5 * 60_000); // a little clock skew is tolerated, as kubeadm does
  const notAfter = new Date(Date.now() + (opts.validDays ?? 365) * 86_400_000);
  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.clusterName ?? 'sriov-lab'}-ca`,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = async (subject: string, usage: x509.ExtendedKeyUsage, san?: x509.JsonGeneralNames) => {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        await x509.AuthorityKeyIdentifierExtension.create(ca),
        ...(san ? [new x509.SubjectAlternativeNameExtension(san)] : []),
      ],
    });
    return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
  };
  const server = await leaf('CN=kube-apiserver', x509.ExtendedKeyUsage.serverAuth, [
    { type: 'ip', value: '127.0.0.1' },
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes' },
    { type: 'dns', value: 'kubernetes.default' },
    { type: 'dns', value: 'kubernetes.default.svc' },
  ]);
  const client = await leaf('CN=kubernetes-admin, O=system:masters', x509.ExtendedKeyUsage.clientAuth);
  return {
    caCert: ca.toString('pem'),
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    token: randomBytes(24).toString('base64url'),
  };
}

/** A kubeconfig for the admin (client certificate), context and cluster named `name`, like kind's. */
export function kubeconfigYaml(opts: { name: string; server: string; pki: ClusterPki; namespace?: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user = `${opts.name}-admin`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(opts.pki.caCert)}`,
    `    server: ${opts.server}`,
    `  name: ${opts.name}`,
    'contexts:',
    '- context:',
    `    cluster: ${opts.name}`,
    ...(opts.namespace ? [`    namespace: ${opts.namespace}`] : []),
    `    user: ${user}`,
    `  name: ${opts.name}`,
    `current-context: ${opts.name}`,
    'preferences: {}',
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(opts.pki.clientCert)}`,
    `    client-key-data: ${b64(opts.pki.clientKey)}`,
    `- name: ${opts.name}-token`,
    '  user:',
    `    token: ${opts.pki.token}`,
    '',
  ].join('\n');
}
