package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/openproton/openproton/internal/api"
	"github.com/openproton/openproton/internal/api/apitest"
)

// TestREADMEOperationTable keeps the README's operation table true: every operation listed
// "not implemented" answers NotImplementedException to a valid request, and every one
// listed "implemented" does not.
func TestREADMEOperationTable(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^\| ([A-Z][A-Za-z]+) \| (implemented|not implemented) \|$`)
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			listed[m[1]] = m[2]
		}
	}
	if len(listed) != len(api.Operations) {
		t.Errorf("README lists %d operations, the model has %d", len(listed), len(api.Operations))
	}
	srv := startServer(t, "")
	for name, op := range api.Operations {
		body, _ := json.Marshal(apitest.Sample(t, op.Input))
		status, code := rawCall(t, srv, name, string(body), signer(rootKeyID, rootSecret, timeNow()))
		actual := "implemented"
		if status == 501 && code == "NotImplementedException" {
			actual = "not implemented"
		}
		if status == 500 {
			t.Errorf("%s: 500 %s for a valid request", name, code)
		}
		if listed[name] != actual {
			t.Errorf("%s: README says %q, server behaves as %q (%d %s)", name, listed[name], actual, status, code)
		}
	}
}
