package render

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRenderSample renders the CloudFormation vpc-env sample template (about 8 KB)
// with its spec's inputs.
func BenchmarkRenderSample(b *testing.B) {
	path := filepath.Join("..", "..", "..", "shared", "samples", "cloudformation", "environment-templates", "vpc-env", "v1", "infrastructure", "cloudformation.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("sample not available: %v", err)
	}
	ctx := map[string]any{"environment": map[string]any{"name": "dev", "inputs": map[string]any{
		"vpc_cidr": "10.0.0.0/16", "public_subnet_one_cidr": "10.0.0.0/18", "public_subnet_two_cidr": "10.0.64.0/18",
		"private_subnet_one_cidr": "10.0.128.0/18", "private_subnet_two_cidr": "10.0.192.0/18"}}}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render("cloudformation.yaml", string(text), ctx); err != nil {
			b.Fatal(err)
		}
	}
}
