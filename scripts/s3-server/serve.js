// Starts the S3 test server: node serve.js ADDRESS PORT DIRECTORY BUCKET [KEY.pem CERT.pem]
// Prints "listening PORT" on standard output once it accepts connections (PORT 0 picks a free one).
// Its one account is S3RVER with the secret S3RVER; every request's SigV4 signature is checked against it.
const S3rver = require('@20minutes/s3rver');
const fs = require('node:fs');
const [address, port, directory, bucket, key, cert] = process.argv.slice(2);
const options = { address, port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }] };
if (key && cert) {
  options.key = fs.readFileSync(key);
  options.cert = fs.readFileSync(cert);
}
new S3rver(options).run().then(
  (server) => console.log(`listening ${server.port}`),
  (error) => { console.error(error.message); process.exit(1); });
