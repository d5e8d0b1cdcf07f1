package terraform

// The files of one deployment, as AWS Proton wrote them into customers' repositories.
// Sources: the archived user guide (ag-infrastructure-tmp-files-terraform.md,
// ag-works-prov-methods.md, resources.md) and commits Proton pushed to public
// repositories (aws-samples/aws-proton-terraform-github-actions-sample,
// aws-samples/eks-blueprints-for-proton, shridharMe/proton-terraform-demo, …). Proton's
// format changed over time; this is its last one: `inputs = any`, a proton_tags variable
// and a "//" key holding the resource ARN in proton.auto.tfvars.json.
//
// What the sources do not show, chosen here:
//   - pipelines: folder pipeline/<service>/ (the path aws-samples' GitHub Actions workflow
//     reads), file proton.service_pipeline.variables.tf, tfvars keys in the variables
//     file's order (service_instances, service, pipeline);
//   - components: folder <environment>/<component>/, tfvars keys in the variables file's
//     order, the service and service_instance keys only for an attached component;
//   - a deletion keeps the tfvars file as it was (only headers and metadata change);
//   - files a previous deployment of the same resource wrote (they carry the managed
//     header naming its ARN) and that the new template no longer has are removed.

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

const (
	managedHeaderFormat = "/*\nThis file is managed by AWS Proton. Any changes made directly to this file will be overwritten the next time AWS Proton performs an update.\n\nTo manage this resource, see AWS Proton Resource: %s\n\nIf the resource is no longer accessible within AWS Proton, it may have been deleted and may require manual cleanup.\n*/\n\n"
	deletedHeader       = "/*\nThis file is no longer managed by AWS Proton. The associated resource has been deleted in Proton.\n*/\n\n"

	tfvarsFile   = TfvarsFile
	metadataFile = MetadataFile
	manifestFile = "manifest.yaml"
)

// ManagedHeader is the comment Proton put at the top of each .tf file it wrote.
func ManagedHeader(arn string) string { return fmt.Sprintf(managedHeaderFormat, arn) }

// DeletedHeader replaces ManagedHeader once the resource is deleted.
const DeletedHeader = deletedHeader

func (r *Request) header() string {
	if r.Deleted {
		return deletedHeader
	}
	return ManagedHeader(r.ResourceARN)
}

// VariablesFile is the name of a kind's variable declarations file.
func VariablesFile(kind Kind) string { return "proton." + string(kind) + ".variables.tf" }

const protonTagsVariable = `
variable "proton_tags" {
  type    = map(string)
  default = null
}
`

// variables holds each kind's variable declarations, after the header.
var variables = map[Kind]string{
	Environment: `variable "environment" {
  type = object({
    inputs = any
    name   = string
  })
  default = null
}
` + protonTagsVariable,

	ServiceInstance: `variable "environment" {
  type = object({
    account_id = string
    name       = string
    outputs    = map(string)
  })
  default = null
}

variable "service" {
  type = object({
    name                      = string
    branch_name               = string
    repository_connection_arn = string
    repository_id             = string
  })
}

variable "service_instance" {
  type = object({
    name       = string
    inputs     = any
    components = map(any)
  })
  default = null
}
` + protonTagsVariable,

	ServicePipeline: `variable "service_instances" {
  type = list(
    object({
      name    = string
      inputs  = any
      outputs = map(string)
      environment = object({
        account_id = string
        name       = string
        outputs    = map(string)
      })
    })
  )
}

variable "service" {
  type = object({
    name                      = string
    branch_name               = string
    repository_connection_arn = string
    repository_id             = string
  })
  default = null
}

variable "pipeline" {
  type = object({
    inputs = any
  })
  default = null
}
` + protonTagsVariable,

	// As Proton wrote it, three-space indentation included.
	Component: `variable "component" {
  type = object({
    name = string
  })
}

variable "environment" {
  type = object({
    account_id = string
    name       = string
    outputs    = map(string)
  })
}

variable "service" {
   type = object({
     name = string
   })
   default = null
}

variable "service_instance" {
  type = object({
    name   = string
    inputs = map(string)
  })
  default = null
}
` + protonTagsVariable,
}

// renderFiles returns the deployment's files by path relative to the resource's folder.
func renderFiles(r *Request) (map[string][]byte, error) {
	out := map[string][]byte{}
	reserved := map[string]bool{tfvarsFile: true, VariablesFile(r.Kind): true, metadataFile: true}
	header := r.header()
	for _, p := range slices.Sorted(maps.Keys(r.Files)) {
		if err := checkTemplatePath(p); err != nil {
			return nil, err
		}
		if p == manifestFile {
			continue
		}
		if reserved[p] {
			return nil, fmt.Errorf("template file %q would overwrite the file Proton generates there", p)
		}
		data := r.Files[p]
		if strings.HasSuffix(p, ".tf") {
			data = append([]byte(header), data...)
		}
		out[p] = data
	}
	out[VariablesFile(r.Kind)] = []byte(header + variables[r.Kind])
	tfvars, err := tfvarsJSON(r)
	if err != nil {
		return nil, err
	}
	out[tfvarsFile] = tfvars
	if out[metadataFile], err = metadataJSON(r); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTemplatePath refuses any template path that could land outside the resource's
// folder or that git would refuse: absolute paths, "." and ".." segments, backslashes,
// NUL, empty segments and .git.
func checkTemplatePath(p string) error {
	bad := p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") ||
		(len(p) >= 2 && p[1] == ':') || path.Clean(p) != p
	if !bad {
		for _, seg := range strings.Split(p, "/") {
			if seg == "." || seg == ".." || seg == "" || strings.EqualFold(seg, ".git") {
				bad = true
				break
			}
		}
	}
	if bad {
		return fmt.Errorf("template file path %q is not a relative path inside the template", p)
	}
	if strings.HasPrefix(p, ".proton/") {
		return fmt.Errorf("template file path %q is inside Proton's .proton folder", p)
	}
	return nil
}

// tfvarsJSON builds proton.auto.tfvars.json from the request's namespace.
func tfvarsJSON(r *Request) ([]byte, error) {
	ns := jsonObject{}
	if len(r.Namespace) > 0 {
		v, err := decodeOrdered(r.Namespace)
		if err != nil {
			return nil, fmt.Errorf("parameter namespace: %w", err)
		}
		if v != nil {
			o, ok := v.(jsonObject)
			if !ok {
				return nil, fmt.Errorf("parameter namespace is a %s, not an object", jsonType(v))
			}
			ns = o
		}
	}
	n := nsReader{}
	var out jsonObject
	switch r.Kind {
	case Environment:
		env := n.section(ns, "environment")
		out = jsonObject{{"environment", jsonObject{
			{"name", n.name(env, "environment.name", r.EnvironmentName)},
			{"inputs", n.obj(env, "environment.inputs")},
		}}}
	case ServiceInstance:
		si := n.section(ns, "service_instance")
		out = jsonObject{
			{"environment", n.environment(n.section(ns, "environment"), "environment", r.EnvironmentName)},
			{"service", n.service(n.section(ns, "service"), r.ServiceName)},
			{"service_instance", jsonObject{
				{"name", n.name(si, "service_instance.name", r.ServiceInstanceName)},
				{"inputs", n.obj(si, "service_instance.inputs")},
				{"components", n.obj(si, "service_instance.components")},
			}},
		}
	case ServicePipeline:
		instances := []any{}
		if v, ok := ns.get("service_instances"); ok && v != nil {
			list, isList := v.([]any)
			if !isList {
				n.fail("service_instances is a %s, not a list", jsonType(v))
			}
			for i, item := range list {
				where := fmt.Sprintf("service_instances[%d]", i)
				o, isObj := item.(jsonObject)
				if !isObj {
					n.fail("%s is a %s, not an object", where, jsonType(item))
					continue
				}
				instances = append(instances, jsonObject{
					{"name", n.str(o, where+".name")},
					{"inputs", n.obj(o, where+".inputs")},
					{"outputs", n.obj(o, where+".outputs")},
					{"environment", n.environment(n.section(o, where+".environment"), where+".environment", "")},
				})
			}
		}
		out = jsonObject{
			{"service_instances", instances},
			{"service", n.service(n.section(ns, "service"), r.ServiceName)},
			{"pipeline", jsonObject{{"inputs", n.obj(n.section(ns, "pipeline"), "pipeline.inputs")}}},
		}
	case Component:
		comp := n.section(ns, "component")
		out = jsonObject{
			{"component", jsonObject{{"name", n.name(comp, "component.name", r.ComponentName)}}},
			{"environment", n.environment(n.section(ns, "environment"), "environment", r.EnvironmentName)},
		}
		if r.ServiceName != "" {
			si := n.section(ns, "service_instance")
			out = append(out,
				jsonField{"service", jsonObject{{"name", n.name(n.section(ns, "service"), "service.name", r.ServiceName)}}},
				jsonField{"service_instance", jsonObject{
					{"name", n.name(si, "service_instance.name", r.ServiceInstanceName)},
					{"inputs", n.obj(si, "service_instance.inputs")},
				}})
		}
	}
	if n.err != nil {
		return nil, fmt.Errorf("parameter namespace: %w", n.err)
	}
	tags := r.Tags
	if tags == nil {
		tags = r.protonTags()
	}
	if len(tags) > 0 {
		t := jsonObject{}
		for _, tag := range tags {
			t = append(t, jsonField{tag.Key, tag.Value})
		}
		out = append(out, jsonField{"proton_tags", t})
	}
	out = append(out, jsonField{"//", r.ResourceARN})
	return marshalJackson(out)
}

// nsReader reads the namespace, keeping the first error.
type nsReader struct{ err error }

func (n *nsReader) fail(format string, args ...any) {
	if n.err == nil {
		n.err = fmt.Errorf(format, args...)
	}
}

// section is the object at key; absent or null is empty.
func (n *nsReader) section(o jsonObject, key string) jsonObject {
	v, _ := o.get(key[strings.LastIndexByte(key, '.')+1:])
	if v == nil {
		return jsonObject{}
	}
	s, ok := v.(jsonObject)
	if !ok {
		n.fail("%s is a %s, not an object", key, jsonType(v))
		return jsonObject{}
	}
	return s
}

// obj is like section, for a value written out (inputs, outputs, components).
func (n *nsReader) obj(o jsonObject, key string) jsonObject { return n.section(o, key) }

// str is the string at key; absent or null is "".
func (n *nsReader) str(o jsonObject, key string) string {
	v, _ := o.get(key[strings.LastIndexByte(key, '.')+1:])
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		n.fail("%s is a %s, not a string", key, jsonType(v))
	}
	return s
}

// name is the name at key, which must be want when both are given; want fills it in
// when the namespace has none.
func (n *nsReader) name(o jsonObject, key, want string) string {
	got := n.str(o, key)
	switch {
	case got == "":
		return want
	case want != "" && got != want:
		n.fail("%s is %q, but the request deploys %q", key, got, want)
	}
	return got
}

func (n *nsReader) environment(env jsonObject, where, name string) jsonObject {
	return jsonObject{
		{"account_id", n.str(env, where+".account_id")},
		{"name", n.name(env, where+".name", name)},
		{"outputs", n.obj(env, where+".outputs")},
	}
}

func (n *nsReader) service(svc jsonObject, name string) jsonObject {
	return jsonObject{
		{"name", n.name(svc, "service.name", name)},
		{"repository_connection_arn", n.str(svc, "service.repository_connection_arn")},
		{"repository_id", n.str(svc, "service.repository_id")},
		{"branch_name", n.str(svc, "service.branch_name")},
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case jsonObject:
		return "object"
	case []any:
		return "list"
	}
	return "number"
}

// protonTags are the AWS managed tags Proton propagated to a resource's provisioned
// resources (resources.md), in the order Proton wrote them.
func (r *Request) protonTags() []Tag {
	prefix := arnPrefix(r.ResourceARN) // arn:partition:proton:region:account:
	parts := strings.SplitN(r.ResourceARN, ":", 6)
	var account string
	if len(parts) == 6 {
		account = parts[4]
	}
	tags := []Tag{{"proton:account", account}}
	if r.TemplateARN != "" {
		tags = append(tags, Tag{"proton:template", r.TemplateARN})
	}
	service := prefix + "service/" + r.ServiceName
	instance := service + "/service-instance/" + r.ServiceInstanceName
	switch r.Kind {
	case Environment:
		tags = append(tags, Tag{"proton:environment", r.ResourceARN})
	case ServiceInstance:
		tags = append(tags, Tag{"proton:service", service}, Tag{"proton:environment", r.EnvironmentARN},
			Tag{"proton:service-instance", r.ResourceARN})
	case ServicePipeline:
		tags = append(tags, Tag{"proton:service", service})
	case Component:
		if r.ServiceName != "" {
			tags = append(tags, Tag{"proton:service", service})
		}
		tags = append(tags, Tag{"proton:environment", r.EnvironmentARN})
		if r.ServiceName != "" {
			tags = append(tags, Tag{"proton:service-instance", instance})
		}
		tags = append(tags, Tag{"proton:component", r.ResourceARN})
	}
	return tags
}

// arnPrefix is an ARN up to its resource part, "" when it has no such part.
func arnPrefix(arn string) string {
	n := 0
	for i := 0; i < len(arn); i++ {
		if arn[i] == ':' {
			if n++; n == 5 {
				return arn[:i+1]
			}
		}
	}
	return ""
}

// metadataJSON builds .proton/deployment-metadata.json.
func metadataJSON(r *Request) ([]byte, error) {
	id := r.DeploymentID
	if r.Deleted {
		id = DeletedDeploymentID
	}
	meta := jsonObject{{"arn", r.ResourceARN}}
	if r.TemplateARN != "" {
		meta = append(meta, jsonField{"templateArn", r.TemplateARN}, jsonField{"templateMajorVersion", r.TemplateMajor},
			jsonField{"templateMinorVersion", r.TemplateMinor})
	}
	if r.Kind == ServiceInstance || r.Kind == Component {
		meta = append(meta, jsonField{"environmentArn", r.EnvironmentARN})
	}
	return marshalJackson(jsonObject{
		{"deploymentId", id},
		{"isResourceDeleted", r.Deleted},
		{"resourceMetadata", meta},
	})
}
