package tfapply

import (
	"strings"
	"testing"
)

func TestDeclaredBackend(t *testing.T) {
	for _, tc := range []struct {
		name, file, src, want string
	}{
		{"none", "main.tf", `resource "terraform_data" "x" {}`, ""},
		{"terraform block without backend", "versions.tf", "terraform {\n  required_version = \">= 1.5\"\n  required_providers {\n    aws = {\n      source = \"hashicorp/aws\"\n    }\n  }\n}\n", ""},
		{"s3", "backend.tf", "terraform {\n  required_version = \">= 1.5\"\n  backend \"s3\" {\n    bucket = \"b\"\n    key    = \"k\"\n  }\n}\n", "s3"},
		{"compact", "main.tf", "terraform{\nbackend \"gcs\"{}\n}", "gcs"},
		{"local", "main.tf", "terraform {\n  backend \"local\" {}\n}\n", "local"},
		{"cloud", "main.tf", "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n", "cloud"},
		{"commented out", "main.tf", "terraform {\n  # backend \"s3\" {}\n  // backend \"s3\" {}\n  /* backend \"s3\" {\n  } */\n}\n", ""},
		{"in a string", "main.tf", "terraform {\n  x = \"\n  backend \\\"s3\\\" {\"\n}\n", ""},
		{"in a template", "main.tf", "locals {\n  x = \"${ {a = \"}\"}.a }\"\n}\nterraform {\n  backend \"pg\" {}\n}\n", "pg"},
		{"in a heredoc", "main.tf", "locals {\n  x = <<-EOT\n    terraform {\n      backend \"s3\" {}\n    }\n    EOT\n}\n", ""},
		{"after a heredoc", "main.tf", "locals {\n  x = <<EOT\n}\n{\nEOT\n}\nterraform {\n  backend \"azurerm\" {}\n}\n", "azurerm"},
		{"nested elsewhere", "main.tf", "resource \"x\" \"y\" {\n  terraform {\n    backend \"s3\" {}\n  }\n}\n", ""},
		{"too deep", "main.tf", "terraform {\n  other {\n    backend \"s3\" {}\n  }\n}\n", ""},
		{"in a module", "modules/m/main.tf", "terraform {\n  backend \"s3\" {}\n}\n", ""},
		{"not terraform", "README.md", "terraform {\n  backend \"s3\" {}\n}\n", ""},
		{"json", "backend.tf.json", `{"terraform": {"backend": {"s3": {"bucket": "b"}}}}`, "s3"},
		{"json lists", "backend.tf.json", `{"terraform": [{"required_version": "1"}, {"backend": [{"consul": {}}]}]}`, "consul"},
		{"json cloud", "main.tf.json", `{"terraform": {"cloud": {"organization": "o"}}}`, "cloud"},
		{"json none", "main.tf.json", `{"terraform": {"required_version": "1"}, "resource": {}}`, ""},
		{"tofu", "main.tofu", "terraform {\n  backend \"s3\" {}\n}\n", "s3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := declaredBackend(map[string][]byte{tc.file: []byte(tc.src), "other.tf": []byte("# nothing\n")})
			if got != tc.want {
				t.Errorf("declaredBackend = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStateName(t *testing.T) {
	a := stateName("arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east")
	if !strings.HasPrefix(a, "service-api-service-instance-east-") || len(a) != len("service-api-service-instance-east-")+32 {
		t.Errorf("stateName = %q", a)
	}
	if stateName("arn:aws:proton:us-east-1:123456789012:service/api/service-instance/east") != a {
		t.Error("not stable")
	}
	// Names that sanitize alike stay apart.
	if stateName("arn:aws:proton:us-east-1:123456789012:environment/a_b") == stateName("arn:aws:proton:us-east-1:123456789012:environment/a/b") ||
		stateName("x:y") == stateName("x/y") {
		t.Error("collision")
	}
	for _, arn := range []string{"", "..", "../../etc", strings.Repeat("x", 500), "arn:aws:proton:r:1:/.."} {
		n := stateName(arn)
		if n == "" || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "-") || len(n) > 100 {
			t.Errorf("stateName(%q) = %q", arn, n)
		}
	}
}
