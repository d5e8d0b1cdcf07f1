package sigv4

import (
	"io"
	"testing"
)

// BenchmarkVerify is a typical Proton JSON API request: a small body, the headers the AWS
// SDKs sign, a cached signing key.
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment-template/load"}`)
	r := signedRequest(b, "proton", "/", body, now)
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.41.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/proton#1.42.3")
	v := verifier("proton")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyStreamChunks is an aws-chunked upload with signed 64 KiB chunks.
func BenchmarkVerifyStreamChunks(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(66560)
	for b.Loop() {
		_, body, err := docVerifier().VerifyStream(docRequest(false))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			b.Fatal(err)
		}
	}
}
