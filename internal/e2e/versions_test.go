package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openproton/openproton/internal/app"
	"github.com/openproton/openproton/internal/bundle/bundletest"
	"github.com/openproton/openproton/internal/store"
)

const samplesDir = "../../../shared/samples"

func needSamples(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(samplesDir); err != nil {
		t.Skipf("sample bundles not available (%v)", err)
	}
}

// file is one entry of a bundle built in a test.
type file = bundletest.File

// tarball builds a gzipped tar of files under the folder top.
func tarball(t testing.TB, top string, files []file) []byte {
	return bundletest.Tarball(t, bundletest.Under(top, files))
}

// upload puts a bundle into the embedded bucket API with the S3 client.
func (s *testServer) upload(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	uploadTo(t, s.URL(), bucket, key, body)
}

// uploadTo puts a bundle into the bucket API of the server at url.
func uploadTo(t testing.TB, url, bucket, key string, body []byte) {
	t.Helper()
	c := s3At(url, rootKeyID, rootSecret)
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil && apiCode(err) != "BucketAlreadyOwnedByYou" && apiCode(err) != "BucketAlreadyExists" {
		t.Fatalf("create bucket: %v", err)
	}
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("upload %s: %v", key, err)
	}
}

func source(bucket, key string) *types.TemplateVersionSourceInputMemberS3 {
	return &types.TemplateVersionSourceInputMemberS3{Value: types.S3ObjectSource{Bucket: aws.String(bucket), Key: aws.String(key)}}
}

// waitEnvVersion polls until the version leaves REGISTRATION_IN_PROGRESS.
func waitEnvVersion(t testing.TB, c *proton.Client, name, major, minor string) *types.EnvironmentTemplateVersion {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.GetEnvironmentTemplateVersion(context.Background(), &proton.GetEnvironmentTemplateVersionInput{
			TemplateName: &name, MajorVersion: &major, MinorVersion: &minor})
		if err != nil {
			t.Fatalf("get %s:%s.%s: %v", name, major, minor, err)
		}
		if out.EnvironmentTemplateVersion.Status != types.TemplateVersionStatusRegistrationInProgress || time.Now().After(deadline) {
			return out.EnvironmentTemplateVersion
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitSvcVersion(t testing.TB, c *proton.Client, name, major, minor string) *types.ServiceTemplateVersion {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.GetServiceTemplateVersion(context.Background(), &proton.GetServiceTemplateVersionInput{
			TemplateName: &name, MajorVersion: &major, MinorVersion: &minor})
		if err != nil {
			t.Fatalf("get %s:%s.%s: %v", name, major, minor, err)
		}
		if out.ServiceTemplateVersion.Status != types.TemplateVersionStatusRegistrationInProgress || time.Now().After(deadline) {
			return out.ServiceTemplateVersion
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registerEnv creates an environment template (if needed) and a version from files.
func registerEnv(t testing.TB, srv *testServer, name string, files []file, provisioning types.Provisioning) *types.EnvironmentTemplateVersion {
	t.Helper()
	ctx := context.Background()
	c := srv.admin()
	_, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: &name, Provisioning: provisioning})
	if err != nil {
		t.Fatalf("create template %s: %v", name, err)
	}
	key := name + "/" + fmt.Sprint(time.Now().UnixNano()) + ".tar.gz"
	srv.upload(t, "bundles", key, tarball(t, name, files))
	out, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", key)})
	if err != nil {
		t.Fatalf("create version of %s: %v", name, err)
	}
	if out.EnvironmentTemplateVersion.Status != types.TemplateVersionStatusRegistrationInProgress {
		t.Errorf("new version status = %s, want REGISTRATION_IN_PROGRESS", out.EnvironmentTemplateVersion.Status)
	}
	return waitEnvVersion(t, c, name, aws.ToString(out.EnvironmentTemplateVersion.MajorVersion), aws.ToString(out.EnvironmentTemplateVersion.MinorVersion))
}

func TestSampleBundlesRegister(t *testing.T) {
	needSamples(t)
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()

	envs, _ := filepath.Glob(filepath.Join(samplesDir, "*", "environment-templates", "*", "v1"))
	envs2, _ := filepath.Glob(filepath.Join(samplesDir, "codebuild", "*", "environment-templates", "*", "v1"))
	envs = append(envs, envs2...)
	if len(envs) < 5 {
		t.Fatalf("found %d environment sample bundles, want at least 5", len(envs))
	}
	registered := map[string]bool{}
	for _, dir := range envs {
		name := filepath.Base(filepath.Dir(dir))
		family := strings.TrimPrefix(filepath.Dir(filepath.Dir(filepath.Dir(dir))), samplesDir+"/")
		tname := strings.ReplaceAll(family, "/", "-") + "-" + name
		v := registerEnv(t, srv, tname, bundletest.Dir(t, dir), "")
		if v.Status != types.TemplateVersionStatusDraft {
			t.Errorf("%s: status %s: %s", dir, v.Status, aws.ToString(v.StatusMessage))
			continue
		}
		schema, _ := os.ReadFile(filepath.Join(dir, "schema", "schema.yaml"))
		if aws.ToString(v.Schema) != string(schema) {
			t.Errorf("%s: schema member differs from schema/schema.yaml", dir)
		}
		if aws.ToString(v.Arn) != fmt.Sprintf("arn:aws:proton:us-east-1:000000000000:environment-template/%s:1.0", tname) {
			t.Errorf("%s: arn %s", dir, aws.ToString(v.Arn))
		}
		registered[family+"/"+name] = true
	}

	svcs, _ := filepath.Glob(filepath.Join(samplesDir, "*", "service-templates", "*", "v1"))
	svcs2, _ := filepath.Glob(filepath.Join(samplesDir, "codebuild", "*", "service-templates", "*", "v1"))
	svcs = append(svcs, svcs2...)
	if len(svcs) < 3 {
		t.Fatalf("found %d service sample bundles, want at least 3", len(svcs))
	}
	for _, dir := range svcs {
		name := filepath.Base(filepath.Dir(dir))
		family := strings.TrimPrefix(filepath.Dir(filepath.Dir(filepath.Dir(dir))), samplesDir+"/")
		prefix := strings.ReplaceAll(family, "/", "-") + "-"
		var compatible []types.CompatibleEnvironmentTemplateInput
		for _, ref := range compatibleEnvs(t, dir) {
			env, major, _ := strings.Cut(ref, ":")
			compatible = append(compatible, types.CompatibleEnvironmentTemplateInput{TemplateName: aws.String(prefix + env), MajorVersion: aws.String(major)})
		}
		tname := prefix + name
		var pipeline types.Provisioning
		if _, err := os.Stat(filepath.Join(dir, "pipeline_infrastructure")); err != nil {
			pipeline = types.ProvisioningCustomerManaged
		}
		if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: &tname, PipelineProvisioning: pipeline}); err != nil {
			t.Fatal(err)
		}
		key := tname + ".tar.gz"
		srv.upload(t, "bundles", key, tarball(t, name, bundletest.Dir(t, dir)))
		out, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: &tname, Source: source("bundles", key),
			CompatibleEnvironmentTemplates: compatible, SupportedComponentSources: []types.ServiceTemplateSupportedComponentSourceType{types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined}})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		v := waitSvcVersion(t, c, tname, aws.ToString(out.ServiceTemplateVersion.MajorVersion), aws.ToString(out.ServiceTemplateVersion.MinorVersion))
		if v.Status != types.TemplateVersionStatusDraft {
			t.Errorf("%s: status %s: %s", dir, v.Status, aws.ToString(v.StatusMessage))
		}
		if len(v.CompatibleEnvironmentTemplates) != len(compatible) || len(v.SupportedComponentSources) != 1 {
			t.Errorf("%s: compatible %v, sources %v", dir, v.CompatibleEnvironmentTemplates, v.SupportedComponentSources)
		}
	}
}

// compatibleEnvs reads a sample's .compatible-envs or .template-registration.yaml.
func compatibleEnvs(t *testing.T, dir string) []string {
	if b, err := os.ReadFile(filepath.Join(dir, ".compatible-envs")); err == nil {
		return strings.Fields(string(b))
	}
	b, err := os.ReadFile(filepath.Join(dir, ".template-registration.yaml"))
	if err != nil {
		t.Fatalf("%s: no compatible environments listed", dir)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
			out = append(out, strings.TrimSpace(ref))
		}
	}
	return out
}

const goodSchema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "Input"
  types:
    Input:
      type: object
      properties:
        size:
          type: string
          enum: [small, large]
          default: small
        count:
          type: number
          default: 1
`

const goodManifest = `infrastructure:
  templates:
    - file: "cloudformation.yaml"
      rendering_engine: jinja
      template_language: cloudformation
`

func envBundle(schema string) []file {
	return []file{{Name: "schema/schema.yaml", Body: schema}, {Name: "infrastructure/manifest.yaml", Body: goodManifest},
		{Name: "infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
}

func TestBrokenBundlesFailRegistration(t *testing.T) {
	srv := startServer(t, "")
	random := make([]byte, 6<<20)
	_, _ = rand.Read(random)
	for _, tc := range []struct {
		name  string
		files []file
		raw   []byte
		want  string
	}{
		{"bad-yaml", envBundle("schema:\n  format: [\n"), nil, "schema.yaml"},
		{"bad-schema", envBundle("schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: Missing\n  types: {}\n"), nil, "Missing"},
		{"no-manifest", []file{{Name: "schema/schema.yaml", Body: goodSchema}, {Name: "infrastructure/cloudformation.yaml", Body: "x"}}, nil, "manifest"},
		{"traversal", append(envBundle(goodSchema), file{Name: "../x", Body: "evil"}), nil, ".."},
		{"too-big", nil, random, "5 MB"},
		{"not-gzip", nil, []byte("plain text, not a bundle"), "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if raw == nil {
				raw = tarball(t, "tpl", tc.files)
			}
			name := "broken-" + tc.name
			c := srv.admin()
			if _, err := c.CreateEnvironmentTemplate(context.Background(), &proton.CreateEnvironmentTemplateInput{Name: &name}); err != nil {
				t.Fatal(err)
			}
			srv.upload(t, "broken", name, raw)
			if _, err := c.CreateEnvironmentTemplateVersion(context.Background(), &proton.CreateEnvironmentTemplateVersionInput{
				TemplateName: &name, Source: source("broken", name)}); err != nil {
				t.Fatalf("a bad bundle must be accepted and fail asynchronously: %v", err)
			}
			v := waitEnvVersion(t, c, name, "1", "0")
			if v.Status != types.TemplateVersionStatusRegistrationFailed || !strings.Contains(aws.ToString(v.StatusMessage), tc.want) {
				t.Errorf("status %s, message %q; want REGISTRATION_FAILED mentioning %q", v.Status, aws.ToString(v.StatusMessage), tc.want)
			}
		})
	}
	t.Run("symlink", func(t *testing.T) {
		raw := tarball(t, "tpl", append(envBundle(goodSchema), file{Name: "infrastructure/link", Type: tar.TypeSymlink, Link: "/etc/passwd"}))
		c := srv.admin()
		name := "broken-symlink"
		_, _ = c.CreateEnvironmentTemplate(context.Background(), &proton.CreateEnvironmentTemplateInput{Name: &name})
		srv.upload(t, "broken", name, raw)
		_, _ = c.CreateEnvironmentTemplateVersion(context.Background(), &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("broken", name)})
		v := waitEnvVersion(t, c, name, "1", "0")
		if v.Status != types.TemplateVersionStatusRegistrationFailed || !strings.Contains(strings.ToLower(aws.ToString(v.StatusMessage)), "link") {
			t.Errorf("symlink: %s %q", v.Status, aws.ToString(v.StatusMessage))
		}
	})
	t.Run("missing-object", func(t *testing.T) {
		c := srv.admin()
		name := "broken-missing"
		_, _ = c.CreateEnvironmentTemplate(context.Background(), &proton.CreateEnvironmentTemplateInput{Name: &name})
		_, _ = c.CreateEnvironmentTemplateVersion(context.Background(), &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("broken", "nope.tar.gz")})
		v := waitEnvVersion(t, c, name, "1", "0")
		if v.Status != types.TemplateVersionStatusRegistrationFailed || !strings.Contains(aws.ToString(v.StatusMessage), "does not exist") {
			t.Errorf("missing object: %s %q", v.Status, aws.ToString(v.StatusMessage))
		}
	})
}

func TestVersionNumberingPublishingAndDeletion(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	name := "numbered"
	v := registerEnv(t, srv, name, envBundle(goodSchema), "")
	if aws.ToString(v.MajorVersion) != "1" || aws.ToString(v.MinorVersion) != "0" || v.RecommendedMinorVersion != nil {
		t.Fatalf("first version %s.%s rec %v", aws.ToString(v.MajorVersion), aws.ToString(v.MinorVersion), v.RecommendedMinorVersion)
	}
	srv.upload(t, "bundles", "n.tar.gz", tarball(t, "n", envBundle(goodSchema)))
	create := func(major string) *types.EnvironmentTemplateVersion {
		in := &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", "n.tar.gz")}
		if major != "" {
			in.MajorVersion = &major
		}
		out, err := c.CreateEnvironmentTemplateVersion(ctx, in)
		if err != nil {
			t.Fatalf("create (major %q): %v", major, err)
		}
		return waitEnvVersion(t, c, name, aws.ToString(out.EnvironmentTemplateVersion.MajorVersion), aws.ToString(out.EnvironmentTemplateVersion.MinorVersion))
	}
	if v := create("1"); aws.ToString(v.MinorVersion) != "1" || v.Status != types.TemplateVersionStatusDraft {
		t.Errorf("next minor of 1 = %s.%s %s", aws.ToString(v.MajorVersion), aws.ToString(v.MinorVersion), v.Status)
	}
	if v := create(""); aws.ToString(v.MajorVersion) != "2" || aws.ToString(v.MinorVersion) != "0" {
		t.Errorf("new major = %s.%s", aws.ToString(v.MajorVersion), aws.ToString(v.MinorVersion))
	}
	_, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("7"), Source: source("bundles", "n.tar.gz")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("minor of a missing major: %v", err)
	}

	publish := func(major, minor string) {
		if _, err := c.UpdateEnvironmentTemplateVersion(ctx, &proton.UpdateEnvironmentTemplateVersionInput{TemplateName: &name,
			MajorVersion: &major, MinorVersion: &minor, Status: types.TemplateVersionStatusPublished}); err != nil {
			t.Fatalf("publish %s.%s: %v", major, minor, err)
		}
	}
	tpl, _ := c.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: &name})
	if tpl.EnvironmentTemplate.RecommendedVersion != nil {
		t.Errorf("recommended version before publishing: %v", *tpl.EnvironmentTemplate.RecommendedVersion)
	}
	publish("1", "0")
	publish("1", "1")
	tpl, _ = c.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: &name})
	if aws.ToString(tpl.EnvironmentTemplate.RecommendedVersion) != "1.1" {
		t.Errorf("recommended = %v, want 1.1", aws.ToString(tpl.EnvironmentTemplate.RecommendedVersion))
	}
	got, _ := c.GetEnvironmentTemplateVersion(ctx, &proton.GetEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), MinorVersion: aws.String("0")})
	if aws.ToString(got.EnvironmentTemplateVersion.RecommendedMinorVersion) != "1" {
		t.Errorf("recommendedMinorVersion of major 1 = %v", aws.ToString(got.EnvironmentTemplateVersion.RecommendedMinorVersion))
	}
	publish("2", "0")
	tpl, _ = c.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: &name})
	if aws.ToString(tpl.EnvironmentTemplate.RecommendedVersion) != "2.0" {
		t.Errorf("recommended = %v, want 2.0", aws.ToString(tpl.EnvironmentTemplate.RecommendedVersion))
	}

	list, err := c.ListEnvironmentTemplateVersions(ctx, &proton.ListEnvironmentTemplateVersionsInput{TemplateName: &name, MajorVersion: aws.String("1")})
	if err != nil || len(list.TemplateVersions) != 2 {
		t.Errorf("versions of major 1: %v %v", list, err)
	}
	var all []string
	pages := proton.NewListEnvironmentTemplateVersionsPaginator(c, &proton.ListEnvironmentTemplateVersionsInput{TemplateName: &name, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range p.TemplateVersions {
			all = append(all, aws.ToString(v.MajorVersion)+"."+aws.ToString(v.MinorVersion))
		}
	}
	if fmt.Sprint(all) != "[1.0 1.1 2.0]" {
		t.Errorf("all versions = %v", all)
	}

	// The recommended version goes last.
	_, err = c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("2"), MinorVersion: aws.String("0")})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("deleting the recommended version with others left: %v", err)
	}
	// A template with versions cannot be deleted.
	_, err = c.DeleteEnvironmentTemplate(ctx, &proton.DeleteEnvironmentTemplateInput{Name: &name})
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("deleting a template with versions: %v", err)
	}
	del, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), MinorVersion: aws.String("0")})
	if err != nil || aws.ToString(del.EnvironmentTemplateVersion.MinorVersion) != "0" {
		t.Fatalf("delete 1.0: %v %v", del, err)
	}
	// A retried delete succeeds with nothing to report.
	del, err = c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), MinorVersion: aws.String("0")})
	if err != nil || del.EnvironmentTemplateVersion != nil {
		t.Errorf("retried delete: %v %v", del, err)
	}
	for _, mm := range [][2]string{{"1", "1"}, {"2", "0"}} {
		if _, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: &mm[0], MinorVersion: &mm[1]}); err != nil {
			t.Fatalf("delete %v: %v", mm, err)
		}
	}
	tpl, _ = c.GetEnvironmentTemplate(ctx, &proton.GetEnvironmentTemplateInput{Name: &name})
	if tpl.EnvironmentTemplate.RecommendedVersion != nil {
		t.Errorf("recommended after deleting everything: %v", *tpl.EnvironmentTemplate.RecommendedVersion)
	}
	if _, err := c.DeleteEnvironmentTemplate(ctx, &proton.DeleteEnvironmentTemplateInput{Name: &name}); err != nil {
		t.Errorf("delete empty template: %v", err)
	}
	if out, err := c.DeleteEnvironmentTemplate(ctx, &proton.DeleteEnvironmentTemplateInput{Name: &name}); err != nil || out.EnvironmentTemplate != nil {
		t.Errorf("retried template delete: %v %v", out, err)
	}
}

func TestBackwardCompatibility(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	name := "compat"
	registerEnv(t, srv, name, envBundle(goodSchema), "")
	narrowed := strings.Replace(goodSchema, "enum: [small, large]", "enum: [small]", 1)
	srv.upload(t, "bundles", "narrow.tar.gz", tarball(t, "c", envBundle(narrowed)))

	out, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), Source: source("bundles", "narrow.tar.gz")})
	if err != nil {
		t.Fatal(err)
	}
	v := waitEnvVersion(t, c, name, "1", aws.ToString(out.EnvironmentTemplateVersion.MinorVersion))
	if v.Status != types.TemplateVersionStatusRegistrationFailed || !strings.Contains(aws.ToString(v.StatusMessage), "backward compatible") {
		t.Errorf("incompatible minor: %s %q", v.Status, aws.ToString(v.StatusMessage))
	}
	out, err = c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", "narrow.tar.gz")})
	if err != nil {
		t.Fatal(err)
	}
	v = waitEnvVersion(t, c, name, aws.ToString(out.EnvironmentTemplateVersion.MajorVersion), "0")
	if v.Status != types.TemplateVersionStatusDraft || aws.ToString(v.MajorVersion) != "2" {
		t.Errorf("same change as a new major: %s.%s %s %q", aws.ToString(v.MajorVersion), aws.ToString(v.MinorVersion), v.Status, aws.ToString(v.StatusMessage))
	}
}

func TestTemplateVersionIdempotency(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	name := "idem"
	registerEnv(t, srv, name, envBundle(goodSchema), "")
	srv.upload(t, "bundles", "i.tar.gz", tarball(t, "i", envBundle(goodSchema)))
	srv.upload(t, "bundles", "j.tar.gz", tarball(t, "j", envBundle(goodSchema)))

	in := &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), Source: source("bundles", "i.tar.gz"), ClientToken: aws.String("token-1")}
	first, err := c.CreateEnvironmentTemplateVersion(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateEnvironmentTemplateVersion(ctx, in)
	if err != nil || aws.ToString(again.EnvironmentTemplateVersion.Arn) != aws.ToString(first.EnvironmentTemplateVersion.Arn) {
		t.Fatalf("same token, same request: %v %v", again, err)
	}
	other := *in
	other.Source = source("bundles", "j.tar.gz")
	_, err = c.CreateEnvironmentTemplateVersion(ctx, &other)
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "IdempotentParameterMismatch") {
		t.Errorf("same token, other parameters: %v", err)
	}
	list, _ := c.ListEnvironmentTemplateVersions(ctx, &proton.ListEnvironmentTemplateVersionsInput{TemplateName: &name})
	if len(list.TemplateVersions) != 2 {
		t.Errorf("%d versions after retries, want 2", len(list.TemplateVersions))
	}
	// After the version is deleted, a retry creates it anew.
	waitEnvVersion(t, c, name, "1", "1")
	if _, err := c.DeleteEnvironmentTemplateVersion(ctx, &proton.DeleteEnvironmentTemplateVersionInput{TemplateName: &name, MajorVersion: aws.String("1"), MinorVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	anew, err := c.CreateEnvironmentTemplateVersion(ctx, in)
	if err != nil || aws.ToString(anew.EnvironmentTemplateVersion.MinorVersion) != "1" {
		t.Errorf("retry after delete: %v %v", anew, err)
	}

	// 20 concurrent identical requests with one token make one version.
	conc := &proton.CreateEnvironmentTemplateVersionInput{TemplateName: &name, Source: source("bundles", "i.tar.gz"), ClientToken: aws.String("token-2")}
	var wg sync.WaitGroup
	arns := make([]string, 20)
	for i := range arns {
		wg.Go(func() {
			out, err := c.CreateEnvironmentTemplateVersion(ctx, conc)
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			arns[i] = aws.ToString(out.EnvironmentTemplateVersion.Arn)
		})
	}
	wg.Wait()
	for _, a := range arns {
		if a != arns[0] {
			t.Fatalf("concurrent identical creates made different versions: %v", arns)
		}
	}
	list, _ = c.ListEnvironmentTemplateVersions(ctx, &proton.ListEnvironmentTemplateVersionsInput{TemplateName: &name})
	if len(list.TemplateVersions) != 3 {
		t.Errorf("%d versions, want 3", len(list.TemplateVersions))
	}
}

func TestTemplateCreateRetryRules(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	in := &proton.CreateServiceTemplateInput{Name: aws.String("retry"), DisplayName: aws.String("Retry"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}
	first, err := c.CreateServiceTemplate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateServiceTemplate(ctx, in)
	if err != nil || !aws.ToTime(again.ServiceTemplate.CreatedAt).Equal(aws.ToTime(first.ServiceTemplate.CreatedAt)) {
		t.Errorf("unchanged retry: %v %v", again, err)
	}
	_, err = c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("retry"), DisplayName: aws.String("Other")})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("retry with other parameters: %v", err)
	}
	if _, err := c.UpdateServiceTemplate(ctx, &proton.UpdateServiceTemplateInput{Name: aws.String("retry"), Description: aws.String("changed")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateServiceTemplate(ctx, in)
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("retry after modification: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("twenty")})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent identical create: %v", err)
		}
	}
	list, _ := c.ListEnvironmentTemplates(ctx, &proton.ListEnvironmentTemplatesInput{})
	if len(list.Templates) != 1 {
		t.Errorf("%d templates after 20 identical creates", len(list.Templates))
	}
}

func TestDeveloperCannotWriteVersions(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	registerEnv(t, srv, "guarded", envBundle(goodSchema), "")
	id, secret := srv.newKey(t, accountID, "developer")
	dev := srv.client(id, secret)
	_, err := dev.UpdateEnvironmentTemplateVersion(ctx, &proton.UpdateEnvironmentTemplateVersionInput{TemplateName: aws.String("guarded"),
		MajorVersion: aws.String("1"), MinorVersion: aws.String("0"), Status: types.TemplateVersionStatusPublished})
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) {
		t.Errorf("developer publishing: %v", err)
	}
	if _, err := dev.GetEnvironmentTemplateVersion(ctx, &proton.GetEnvironmentTemplateVersionInput{TemplateName: aws.String("guarded"),
		MajorVersion: aws.String("1"), MinorVersion: aws.String("0")}); err != nil {
		t.Errorf("developer reading: %v", err)
	}
}

func TestAWSCLIWaiter(t *testing.T) {
	needTool(t, "aws", "--version")
	srv := startServer(t, "")
	env := srv.awsEnv(t, rootKeyID, rootSecret)
	srv.upload(t, "bundles", "good.tar.gz", tarball(t, "g", envBundle(goodSchema)))
	srv.upload(t, "bundles", "bad.tar.gz", tarball(t, "b", envBundle("schema: [")))
	for _, tc := range []struct {
		name, key string
		exit      int
	}{{"waits-good", "good.tar.gz", 0}, {"waits-bad", "bad.tar.gz", 255}} {
		if _, errOut, code := runAWS(t, srv, env, "proton", "create-environment-template", "--name", tc.name); code != 0 {
			t.Fatalf("create template: %s", errOut)
		}
		if _, errOut, code := runAWS(t, srv, env, "proton", "create-environment-template-version", "--template-name", tc.name,
			"--source", "s3={bucket=bundles,key="+tc.key+"}"); code != 0 {
			t.Fatalf("create version: %s", errOut)
		}
		_, errOut, code := runAWS(t, srv, env, "proton", "wait", "environment-template-version-registered", "--template-name", tc.name,
			"--major-version", "1", "--minor-version", "0")
		if code != tc.exit {
			t.Errorf("%s: waiter exit %d, want %d: %s", tc.name, code, tc.exit, errOut)
		}
		if tc.exit != 0 && !strings.Contains(errOut, "Waiter EnvironmentTemplateVersionRegistered failed") {
			t.Errorf("%s: waiter said %q", tc.name, errOut)
		}
	}
}

// A version still REGISTRATION_IN_PROGRESS when the server stopped (killed mid-request,
// say) registers when a server starts on the same state.
func TestRegistrationResumesAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startServer(t, dir)
	if _, err := srv.admin().CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("resume")}); err != nil {
		t.Fatal(err)
	}
	srv.upload(t, "bundles", "resume.tar.gz", tarball(t, "r", envBundle(goodSchema)))
	srv.stop(t)

	// What a crash between accepting the request and registering leaves behind.
	st, err := app.OpenStore(ctx, srv.cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.TemplateVersionCreate(ctx, &store.TemplateVersion{
		VersionKey: store.VersionKey{AccountID: accountID, TemplateType: store.EnvironmentTemplateType, TemplateName: "resume", Major: 1, Minor: 0},
		Status:     "REGISTRATION_IN_PROGRESS", SourceBucket: "bundles", SourceKey: "resume.tar.gz", CreatedAt: now, LastModifiedAt: now,
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	srv = startServer(t, dir)
	if v := waitEnvVersion(t, srv.admin(), "resume", "1", "0"); v.Status != types.TemplateVersionStatusDraft {
		t.Errorf("after restart: %s %q", v.Status, aws.ToString(v.StatusMessage))
	}
}

func TestServiceTemplateVersionRules(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	registerEnv(t, srv, "base-env", envBundle(goodSchema), "")
	svcSchema := strings.Replace(goodSchema, "environment_input_type", "service_input_type", 1)
	withPipeline := strings.Replace(svcSchema, "  types:", "  pipeline_input_type: \"Input\"\n  types:", 1)
	instance := []file{{Name: "instance_infrastructure/manifest.yaml", Body: goodManifest}, {Name: "instance_infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
	pipeline := []file{{Name: "pipeline_infrastructure/manifest.yaml", Body: goodManifest}, {Name: "pipeline_infrastructure/cloudformation.yaml", Body: "Resources: {}\n"}}
	srv.upload(t, "bundles", "no-pipeline.tar.gz", tarball(t, "s", append([]file{{Name: "schema/schema.yaml", Body: svcSchema}}, instance...)))
	srv.upload(t, "bundles", "pipeline.tar.gz", tarball(t, "s", append(append([]file{{Name: "schema/schema.yaml", Body: withPipeline}}, instance...), pipeline...)))
	compatible := []types.CompatibleEnvironmentTemplateInput{{TemplateName: aws.String("base-env"), MajorVersion: aws.String("1")}}

	var invalid *types.ValidationException
	if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("svc")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: aws.String("svc"), Source: source("bundles", "pipeline.tar.gz"),
		CompatibleEnvironmentTemplates: []types.CompatibleEnvironmentTemplateInput{{TemplateName: aws.String("base-env"), MajorVersion: aws.String("2")}}})
	if !errors.As(err, &invalid) {
		t.Errorf("compatible with a missing major: %v", err)
	}
	_, err = c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: aws.String("svc"), Source: source("bundles", "pipeline.tar.gz"),
		CompatibleEnvironmentTemplates: []types.CompatibleEnvironmentTemplateInput{{TemplateName: aws.String("no-such-env"), MajorVersion: aws.String("1")}}})
	if !errors.As(err, &invalid) {
		t.Errorf("compatible with a missing template: %v", err)
	}

	// A template with a pipeline needs pipeline_infrastructure/.
	_, err = c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: aws.String("svc"), Source: source("bundles", "no-pipeline.tar.gz"),
		CompatibleEnvironmentTemplates: compatible})
	if err != nil {
		t.Fatal(err)
	}
	v := waitSvcVersion(t, c, "svc", "1", "0")
	if v.Status != types.TemplateVersionStatusRegistrationFailed || !strings.Contains(aws.ToString(v.StatusMessage), "pipeline_infrastructure") {
		t.Errorf("pipeline template without pipeline: %s %q", v.Status, aws.ToString(v.StatusMessage))
	}
	out, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: aws.String("svc"), Source: source("bundles", "pipeline.tar.gz"),
		CompatibleEnvironmentTemplates: compatible})
	if err != nil {
		t.Fatal(err)
	}
	v = waitSvcVersion(t, c, "svc", aws.ToString(out.ServiceTemplateVersion.MajorVersion), "0")
	if v.Status != types.TemplateVersionStatusDraft {
		t.Fatalf("pipeline bundle: %s %q", v.Status, aws.ToString(v.StatusMessage))
	}

	// Without a pipeline (CUSTOMER_MANAGED), a pipeline folder is refused.
	if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("svc-np"), PipelineProvisioning: types.ProvisioningCustomerManaged}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateServiceTemplateVersion(ctx, &proton.CreateServiceTemplateVersionInput{TemplateName: aws.String("svc-np"), Source: source("bundles", "pipeline.tar.gz"),
		CompatibleEnvironmentTemplates: compatible}); err != nil {
		t.Fatal(err)
	}
	if v := waitSvcVersion(t, c, "svc-np", "1", "0"); v.Status != types.TemplateVersionStatusRegistrationFailed {
		t.Errorf("pipeline folder without a pipeline: %s", v.Status)
	}

	// Update compatible environments and component sources.
	major := aws.ToString(v.MajorVersion)
	upd, err := c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: aws.String("svc"), MajorVersion: &major, MinorVersion: aws.String("0"),
		SupportedComponentSources: []types.ServiceTemplateSupportedComponentSourceType{types.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined},
		Status:                    types.TemplateVersionStatusPublished})
	if err != nil || len(upd.ServiceTemplateVersion.SupportedComponentSources) != 1 || upd.ServiceTemplateVersion.Status != types.TemplateVersionStatusPublished {
		t.Errorf("update: %v %v", upd, err)
	}
	_, err = c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: aws.String("svc"), MajorVersion: &major, MinorVersion: aws.String("0"),
		CompatibleEnvironmentTemplates: []types.CompatibleEnvironmentTemplateInput{{TemplateName: aws.String("gone"), MajorVersion: aws.String("1")}}})
	if !errors.As(err, &invalid) {
		t.Errorf("update to a missing compatible template: %v", err)
	}
	// A failed version cannot be published.
	_, err = c.UpdateServiceTemplateVersion(ctx, &proton.UpdateServiceTemplateVersionInput{TemplateName: aws.String("svc"), MajorVersion: aws.String("1"), MinorVersion: aws.String("0"),
		Status: types.TemplateVersionStatusPublished})
	if !errors.As(err, &invalid) {
		t.Errorf("publishing a failed version: %v", err)
	}
	tpl, _ := c.GetServiceTemplate(ctx, &proton.GetServiceTemplateInput{Name: aws.String("svc")})
	if aws.ToString(tpl.ServiceTemplate.RecommendedVersion) != major+".0" {
		t.Errorf("recommended = %v", aws.ToString(tpl.ServiceTemplate.RecommendedVersion))
	}
}

// The SDK's own waiter, with the model's acceptors, sees a good bundle register and a bad
// one fail.
func TestSDKWaiter(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	srv.upload(t, "bundles", "good.tar.gz", tarball(t, "g", envBundle(goodSchema)))
	srv.upload(t, "bundles", "bad.tar.gz", tarball(t, "b", envBundle("schema: [")))
	envWaiter := proton.NewEnvironmentTemplateVersionRegisteredWaiter(c, func(o *proton.EnvironmentTemplateVersionRegisteredWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	})
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{{"sdk-good", "good.tar.gz", true}, {"sdk-bad", "bad.tar.gz", false}} {
		if _, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String(tc.name)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateEnvironmentTemplateVersion(ctx, &proton.CreateEnvironmentTemplateVersionInput{TemplateName: aws.String(tc.name), Source: source("bundles", tc.key)}); err != nil {
			t.Fatal(err)
		}
		err := envWaiter.Wait(ctx, &proton.GetEnvironmentTemplateVersionInput{TemplateName: aws.String(tc.name), MajorVersion: aws.String("1"), MinorVersion: aws.String("0")}, 30*time.Second)
		if (err == nil) != tc.ok {
			t.Errorf("%s: waiter err %v, want success=%v", tc.name, err, tc.ok)
		}
	}
}
