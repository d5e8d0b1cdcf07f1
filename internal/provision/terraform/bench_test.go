package terraform

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkCommit is one self-managed deployment: clone the base branch of a local
// repository holding 200 other environments' folders, commit the resource's files on a new
// branch and push it.
func BenchmarkCommit(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git CLI to build the repository with")
	}
	dir := b.TempDir()
	work := filepath.Join(dir, "work")
	for i := range 200 {
		env := filepath.Join(work, fmt.Sprintf("env-%03d", i))
		if err := os.MkdirAll(env, 0o755); err != nil {
			b.Fatal(err)
		}
		for name, content := range map[string]string{"main.tf": mainTF, "outputs.tf": outputTF, "proton.auto.tfvars.json": "{}\n"} {
			if err := os.WriteFile(filepath.Join(env, name), []byte(content), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	remote := filepath.Join(dir, "remote.git")
	for _, args := range [][]string{{"init", "-q", "-b", "main", work}, {"-C", work, "add", "."},
		{"-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"},
		{"clone", "-q", "--bare", work, remote}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := Commit(ctx, envRequest(remote, fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012d", i))); err != nil {
			b.Fatal(err)
		}
	}
}
