// Starts the S3 test server: node serve.js ADDRESS PORT DIRECTORY BUCKET [TLS_KEY.pem TLS_CERT.pem]
// With the key and certificate it serves HTTPS instead of HTTP.
// The login comes from the environment, never the command line: S3_TEST_ACCESS_KEY and S3_TEST_SECRET (the built-in
// S3RVER/S3RVER account is revoked). Every request's SigV4 signature is checked against that secret.
// Prints "listening PORT" on standard output once it accepts connections (PORT 0 picks a free one).
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const fs = require('node:fs');
const [address, port, directory, bucket, tlsKey, tlsCert] = process.argv.slice(2);
const accessKey = process.env.S3_TEST_ACCESS_KEY;
const secret = process.env.S3_TEST_SECRET;
if (!accessKey || !secret) {
  console.error('serve.js: set S3_TEST_ACCESS_KEY and S3_TEST_SECRET');
  process.exit(2);
}
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secret);
const options = { address, port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }] };
if (tlsKey && tlsCert) {
  options.key = fs.readFileSync(tlsKey);
  options.cert = fs.readFileSync(tlsCert);
}
new S3rver(options).run().then(
  (server) => console.log(`listening ${server.port}`),
  (error) => { console.error(error.message); process.exit(1); });
