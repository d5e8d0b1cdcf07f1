package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJacksonLayout(t *testing.T) {
	v := jsonObject{
		{"empty_list", []any{}},
		{"empty_object", jsonObject{}},
		{"list", []any{json.Number("1"), "two", nil, false}},
		{"objects", []any{jsonObject{{"x", json.Number("1.5")}, {"y", jsonObject{{"z", true}}}}, jsonObject{}}},
		{"s", "q\"\\/\n\r\t\b\f\x01\x1f\x7f<>&é\u2028\xff"},
	}
	want := `{
  "empty_list" : [ ],
  "empty_object" : { },
  "list" : [ 1, "two", null, false ],
  "objects" : [ {
    "x" : 1.5,
    "y" : {
      "z" : true
    }
  }, { } ],
  "s" : "q\"\\/\n\r\t\b\f\u0001\u001F` + "\x7f<>&é\u2028\ufffd" + `"
}`
	got, err := marshalJackson(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := marshalJackson(jsonObject{{"n", json.Number("01")}}); err == nil {
		t.Error("wrote an invalid number")
	}
	// Decoding keeps key order and number text; a repeated key keeps its first place.
	d, err := decodeOrdered([]byte(`{"b": 1.0, "a": {"d": 1e3, "c": []}, "b": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = marshalJackson(d)
	if want := "{\n  \"b\" : 2,\n  \"a\" : {\n    \"d\" : 1e3,\n    \"c\" : [ ]\n  }\n}"; string(got) != want {
		t.Errorf("round trip = %s", got)
	}
	if _, err := decodeOrdered([]byte(`{} {}`)); err == nil {
		t.Error("accepted trailing data")
	}
}

func TestPipelineAndComponentFiles(t *testing.T) {
	pipeline := &Request{
		Kind:         ServicePipeline,
		ResourceARN:  "arn:aws:proton:us-east-1:123456789012:service/api/pipeline",
		ServiceName:  "api",
		DeploymentID: deploy1,
		Files:        map[string][]byte{"pipeline.tf": []byte("# p\n")},
		Namespace: []byte(`{"pipeline": {"inputs": {"dockerfile": "Dockerfile"}},
			"service": {"name": "api", "repository_connection_arn": "c", "repository_id": "org/app", "branch_name": "main"},
			"service_instances": [{"name": "east", "inputs": {"port": 80}, "outputs": {"Url": "https://x"},
				"environment": {"account_id": "123456789012", "name": "prod", "outputs": {}}}]}`),
		TemplateARN: svcTmpl, TemplateMajor: "1", TemplateMinor: "0",
	}
	files, err := renderFiles(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	wantTfvars := `{
  "service_instances" : [ {
    "name" : "east",
    "inputs" : {
      "port" : 80
    },
    "outputs" : {
      "Url" : "https://x"
    },
    "environment" : {
      "account_id" : "123456789012",
      "name" : "prod",
      "outputs" : { }
    }
  } ],
  "service" : {
    "name" : "api",
    "repository_connection_arn" : "c",
    "repository_id" : "org/app",
    "branch_name" : "main"
  },
  "pipeline" : {
    "inputs" : {
      "dockerfile" : "Dockerfile"
    }
  },
  "proton_tags" : {
    "proton:account" : "123456789012",
    "proton:template" : "arn:aws:proton:us-east-1:123456789012:service-template/fargate",
    "proton:service" : "arn:aws:proton:us-east-1:123456789012:service/api"
  },
  "//" : "arn:aws:proton:us-east-1:123456789012:service/api/pipeline"
}`
	if diff := cmp.Diff(wantTfvars, string(files["proton.auto.tfvars.json"])); diff != "" {
		t.Errorf("pipeline tfvars (-want +got):\n%s", diff)
	}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, []string{".proton/deployment-metadata.json",
		"pipeline.tf", "proton.auto.tfvars.json", "proton.service_pipeline.variables.tf"}) {
		t.Errorf("pipeline files = %v", got)
	}
	if strings.Contains(string(files[".proton/deployment-metadata.json"]), "environmentArn") {
		t.Error("a pipeline's metadata names an environment")
	}

	component := &Request{
		Kind:                Component,
		ResourceARN:         "arn:aws:proton:us-east-1:123456789012:component/cache",
		EnvironmentARN:      envARN,
		EnvironmentName:     "prod",
		ServiceName:         "api",
		ServiceInstanceName: "east",
		ComponentName:       "cache",
		DeploymentID:        deploy1,
		Namespace:           []byte(`{"component": {"name": "cache"}, "environment": {"name": "prod", "outputs": {"VpcId": "v"}}, "service": {"name": "api"}, "service_instance": {"name": "east", "inputs": {"port": "80"}}}`),
		Tags:                []Tag{},
	}
	files, err = renderFiles(component)
	if err != nil {
		t.Fatal(err)
	}
	wantTfvars = `{
  "component" : {
    "name" : "cache"
  },
  "environment" : {
    "account_id" : "",
    "name" : "prod",
    "outputs" : {
      "VpcId" : "v"
    }
  },
  "service" : {
    "name" : "api"
  },
  "service_instance" : {
    "name" : "east",
    "inputs" : {
      "port" : "80"
    }
  },
  "//" : "arn:aws:proton:us-east-1:123456789012:component/cache"
}`
	if diff := cmp.Diff(wantTfvars, string(files["proton.auto.tfvars.json"])); diff != "" {
		t.Errorf("component tfvars (-want +got):\n%s", diff)
	}
	wantMeta := `{
  "deploymentId" : "0a1b2c3d-0000-4000-8000-000000000001",
  "isResourceDeleted" : false,
  "resourceMetadata" : {
    "arn" : "arn:aws:proton:us-east-1:123456789012:component/cache",
    "environmentArn" : "arn:aws:proton:us-east-1:123456789012:environment/prod"
  }
}`
	if diff := cmp.Diff(wantMeta, string(files[".proton/deployment-metadata.json"])); diff != "" {
		t.Errorf("component metadata (-want +got):\n%s", diff)
	}
	if _, ok := files["proton.component.variables.tf"]; !ok {
		t.Error("no proton.component.variables.tf")
	}
	component.Tags = nil
	if got := component.protonTags(); !slices.Equal(got, []Tag{{"proton:account", "123456789012"},
		{"proton:service", "arn:aws:proton:us-east-1:123456789012:service/api"}, {"proton:environment", envARN},
		{"proton:service-instance", instARN}, {"proton:component", component.ResourceARN}}) {
		t.Errorf("component tags = %v", got)
	}
}

func TestPipelineAndComponentFolders(t *testing.T) {
	remote := newRemote(t, map[string]string{"README.md": "infra\n"})
	p := &Request{
		Remote: Remote{URL: remote}, Kind: ServicePipeline, ServiceName: "api", DeploymentID: deploy1,
		ResourceARN: "arn:aws:proton:us-east-1:123456789012:service/api/pipeline",
		Files:       map[string][]byte{"pipeline.tf": []byte("# p\n")},
		TemplateARN: svcTmpl, TemplateMajor: "1", TemplateMinor: "0",
	}
	res, err := Commit(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "proton--proton-service_pipeline-"+deploy1 || res.Folder != "pipeline/api" {
		t.Errorf("pipeline result = %+v", res)
	}
	c := branchCommit(t, inspect(t, remote), res.Branch)
	if c.Message != "Update requested for Proton - service_pipeline/api" {
		t.Errorf("message = %q", c.Message)
	}
	if _, ok := treeFiles(t, c)["pipeline/api/proton.service_pipeline.variables.tf"]; !ok {
		t.Error("no pipeline variables file")
	}

	comp := &Request{
		Remote: Remote{URL: remote}, Kind: Component, EnvironmentName: "prod", ComponentName: "cache",
		DeploymentID: deploy2, ResourceARN: "arn:aws:proton:us-east-1:123456789012:component/cache",
		EnvironmentARN: envARN, Files: map[string][]byte{"main.tf": []byte("# c\n")},
	}
	res, err = Commit(context.Background(), comp)
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "proton--proton-component-"+deploy2 || res.Folder != "prod/cache" {
		t.Errorf("component result = %+v", res)
	}
	files := treeFiles(t, branchCommit(t, inspect(t, remote), res.Branch))
	if !strings.Contains(files["prod/cache/proton.auto.tfvars.json"], `"component" : {`) ||
		strings.Contains(files["prod/cache/proton.auto.tfvars.json"], `"service"`) {
		t.Errorf("detached component tfvars = %s", files["prod/cache/proton.auto.tfvars.json"])
	}
	fsck(t, remote)
}

// samples is the shared copy of aws-samples/aws-proton-terraform-sample-templates.
const samples = "../../../../shared/samples/terraform"

func readSample(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, filepath.FromSlash(rel)))
	if os.IsNotExist(err) {
		t.Skipf("sample %s not available", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The samples' dev-resources are Proton-style files their authors kept for running
// templates locally: Jackson's layout, but from Proton's earlier format (map(string)
// inputs, no proton_tags) and edited by hand: the environment's ends with a newline, the
// service's has trailing commas, fields moved around and a closing brace missing.
var trailingComma = regexp.MustCompile(`,(\n\s*[}\]])`)

func TestSampleTfvarsLayout(t *testing.T) {
	env := strings.TrimSuffix(readSample(t, "environment-templates/vpc-env/dev-resources/proton.auto.tfvars.json"), "\n")
	svc := readSample(t, "service-templates/apprunner-svc/dev-resources/proton.auto.tfvars.json")

	// Our printer lays the sample's values out exactly as the sample has them.
	relayout := func(text string, depth int) string {
		t.Helper()
		v, err := decodeOrdered([]byte(text))
		if err != nil {
			t.Fatalf("%v in\n%s", err, text)
		}
		var b bytes.Buffer
		if err := writeJackson(&b, v, depth); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// The service sample up to its service object, closed, is valid JSON.
	cut := strings.Index(svc, ",\n  \"service_instance\" : {")
	if cut < 0 {
		t.Fatal("service sample: no service_instance object")
	}
	svcHead := svc[:cut] + "\n}"
	// Its service_instances list (objects inside a list, at depth 2).
	start := strings.Index(svc, "[ {")
	end := strings.Index(svc, "} ]")
	if start < 0 || end < start {
		t.Fatal("service sample: no list of objects")
	}
	list := trailingComma.ReplaceAllString(svc[start:end+3], "$1")
	for name, c := range map[string]struct {
		text  string
		depth int
	}{"environment": {env, 0}, "service head": {svcHead, 0}, "service_instances": {list, 2}} {
		if diff := cmp.Diff(c.text, relayout(c.text, c.depth)); diff != "" {
			t.Errorf("%s: our layout differs from the sample's (-sample +ours):\n%s", name, diff)
		}
	}

	// For the environment sample's values we write the sample, plus the "//" key Proton
	// added later (proton_tags left out here).
	sample, err := decodeOrdered([]byte(env))
	if err != nil {
		t.Fatal(err)
	}
	sampleEnv, _ := sample.(jsonObject).get("environment")
	ns, _ := marshalJackson(jsonObject{{"environment", sampleEnv}})
	req := &Request{Kind: Environment, ResourceARN: envARN, EnvironmentName: "vpc-env", DeploymentID: deploy1,
		Namespace: ns, TemplateARN: envTmpl, TemplateMajor: "1", TemplateMinor: "0", Tags: []Tag{}}
	files, err := renderFiles(req)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(env, "\n}") + ",\n  \"//\" : \"" + envARN + "\"\n}"
	if diff := cmp.Diff(want, string(files[tfvarsFile])); diff != "" {
		t.Errorf("(-sample +ours):\n%s", diff)
	}

	// The service sample's environment and service objects have our keys in our order.
	sample, err = decodeOrdered([]byte(svcHead))
	if err != nil {
		t.Fatal(err)
	}
	files, err = renderFiles(instanceRequest("", deploy1))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := decodeOrdered(files[tfvarsFile])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"environment", "service"} {
		s, _ := sample.(jsonObject).get(key)
		o, _ := ours.(jsonObject).get(key)
		if sk, ok := keys(s.(jsonObject)), keys(o.(jsonObject)); !slices.Equal(sk, ok) {
			t.Errorf("%s keys: sample %v, ours %v", key, sk, ok)
		}
	}
}

func keys(o jsonObject) []string {
	var out []string
	for _, f := range o {
		out = append(out, f.key)
	}
	return out
}

// variableBlocks splits a variables file into its variable blocks, by name.
func variableBlocks(text string) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`(?ms)^variable "(\w+)" \{\n.*?^\}`)
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		out[m[1]] = m[0]
	}
	return out
}

// attributes are the names of a block's outermost object attributes.
func attributes(block string) []string {
	re := regexp.MustCompile(`(?m)^( +)(\w+) +=`)
	min, names := 0, []string(nil)
	for _, m := range re.FindAllStringSubmatch(block, -1) {
		if indent := len(m[1]); indent > 2 && (min == 0 || indent < min) {
			min, names = indent, nil
		}
		if len(m[1]) == min {
			names = append(names, m[2])
		}
	}
	slices.Sort(names)
	return names
}

func TestSampleVariablesStructure(t *testing.T) {
	ours := map[string]string{}
	for _, k := range []Kind{Environment, ServiceInstance, ServicePipeline} {
		for name, block := range variableBlocks(variables[k]) {
			ours[string(k)+"."+name] = block
		}
	}
	check := func(rel string, pairs map[string]string, identical ...string) {
		text := readSample(t, rel)
		blocks := variableBlocks(text)
		for sampleVar, ourVar := range pairs {
			sb, ok := blocks[sampleVar]
			if !ok {
				t.Errorf("%s: no variable %q", rel, sampleVar)
				continue
			}
			if sa, oa := attributes(sb), attributes(ours[ourVar]); !slices.Equal(sa, oa) {
				t.Errorf("%s: variable %s has attributes %v, our %s has %v", rel, sampleVar, sa, ourVar, oa)
			}
		}
		for _, v := range identical {
			if blocks[v] != ours[pairs[v]] {
				t.Errorf("%s: variable %s differs:\n%s\nours:\n%s", rel, v, blocks[v], ours[pairs[v]])
			}
		}
	}
	check("environment-templates/vpc-env/dev-resources/proton.variables.tf",
		map[string]string{"environment": "environment.environment", "pipeline": "service_pipeline.pipeline"})
	check("service-templates/apprunner-svc/dev-resources/proton.variables.tf",
		map[string]string{
			"environment":       "service_instance.environment",
			"service":           "service_instance.service",
			"service_instance":  "service_instance.service_instance",
			"service_instances": "service_pipeline.service_instances",
			"pipeline":          "service_pipeline.pipeline",
		}, "environment", "service")
}
