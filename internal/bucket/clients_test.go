package bucket

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientEnv is the environment for the AWS CLI and boto3: the test key, and a private
// HOME and config so nothing of the user's configuration leaks in.
func clientEnv(t *testing.T, srv *testServer, id, sec string) []string {
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + id,
		"AWS_SECRET_ACCESS_KEY=" + sec,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	}
	if pyenv := os.Getenv("PYENV_ROOT"); pyenv != "" { // the aws shim finds its Python through it
		env = append(env, "PYENV_ROOT="+pyenv)
	}
	if srv.caFile != "" {
		env = append(env, "AWS_CA_BUNDLE="+srv.caFile)
	}
	return env
}

func runAWS(t *testing.T, env []string, stdin []byte, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.String(), err
}

// TestAWSCLI drives the bucket API with the AWS CLI's high-level s3 commands, a 12 MB copy
// going up in parts.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not on PATH")
	}
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			b, srv := serve(t, t.TempDir(), sc.tls)
			env := clientEnv(t, srv, keyID, secret)
			aws := func(args ...string) []byte {
				t.Helper()
				out, errOut, err := runAWS(t, env, nil, append(args, "--endpoint-url", srv.URL)...)
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
				}
				return out
			}
			dir := t.TempDir()
			small := filepath.Join(dir, "small.txt")
			os.WriteFile(small, []byte("small bundle\n"), 0o600)
			large := make([]byte, 12<<20)
			rand.Read(large)
			largeFile := filepath.Join(dir, "large.bin")
			os.WriteFile(largeFile, large, 0o600)

			aws("s3", "mb", "s3://cli-bucket")
			aws("s3", "cp", small, "s3://cli-bucket/small.txt")
			aws("s3", "cp", largeFile, "s3://cli-bucket/dir/large bundle.bin")
			if out := string(aws("s3", "ls")); !strings.Contains(out, "cli-bucket") {
				t.Errorf("aws s3 ls: %q", out)
			}
			if out := string(aws("s3", "ls", "--recursive", "s3://cli-bucket")); !strings.Contains(out, "small.txt") || !strings.Contains(out, "dir/large bundle.bin") {
				t.Errorf("aws s3 ls s3://cli-bucket: %q", out)
			}
			if out := aws("s3", "cp", "s3://cli-bucket/small.txt", "-"); string(out) != "small bundle\n" {
				t.Errorf("small round trip: %q", out)
			}
			if out := aws("s3", "cp", "s3://cli-bucket/dir/large bundle.bin", "-"); !bytes.Equal(out, large) {
				t.Errorf("large round trip: %d bytes back", len(out))
			}
			if got, err := b.Get(context.Background(), "cli-bucket", "dir/large bundle.bin", 16<<20); err != nil || !bytes.Equal(got, large) {
				t.Errorf("Buckets.Get: %d bytes, %v", len(got), err)
			}
			srv.logSeen(t, "aws cli "+sc.name)

			// A wrong secret is refused with S3's code.
			_, errOut, err := runAWS(t, clientEnv(t, srv, keyID, "wrong"), nil, "s3", "ls", "s3://cli-bucket", "--endpoint-url", srv.URL)
			if err == nil || !strings.Contains(errOut, "SignatureDoesNotMatch") {
				t.Errorf("wrong secret: %v %s", err, errOut)
			}
		})
	}
}

func TestBoto3(t *testing.T) {
	if exec.Command("python3", "-c", "import boto3").Run() != nil {
		t.Skip("boto3 not importable")
	}
	const script = `
import sys, boto3
from botocore.config import Config
url, ca = sys.argv[1], sys.argv[2] or None
s3 = boto3.client("s3", endpoint_url=url, verify=ca, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3.create_bucket(Bucket="py-bucket")
data = bytes(range(256)) * 4000
s3.put_object(Bucket="py-bucket", Key="bundles/env.tar.gz", Body=data)
got = s3.get_object(Bucket="py-bucket", Key="bundles/env.tar.gz")["Body"].read()
assert got == data, (len(got), len(data))
print(len(got))
`
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			b, srv := serve(t, t.TempDir(), sc.tls)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "python3", "-c", script, srv.URL, srv.caFile)
			cmd.Env = clientEnv(t, srv, keyID, secret)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "1024000" {
				t.Fatalf("boto3: %v\n%s", err, out)
			}
			if got, err := b.Get(context.Background(), "py-bucket", "bundles/env.tar.gz", 2<<20); err != nil || len(got) != 1024000 {
				t.Errorf("Buckets.Get: %d bytes, %v", len(got), err)
			}
			srv.logSeen(t, "boto3 "+sc.name)
		})
	}
}
