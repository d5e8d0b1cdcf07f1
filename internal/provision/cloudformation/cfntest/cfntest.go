// Package cfntest is an in-memory CloudFormation for tests: an HTTP server speaking the
// query protocol the AWS SDKs use (form-encoded POST, XML in the 2010-05-15 namespace)
// for the stack operations the provisioner needs, plus STS AssumeRole. It records every
// call and moves stacks through their statuses one DescribeStacks poll at a time.
//
// Templates (YAML or JSON) drive it: their Resources become the stack's resources and
// their Outputs its outputs (literal values, or Ref to a resource's physical id). Two
// resource properties steer an operation:
//
//	TestFail: <reason>  the resource fails with that reason and the operation rolls back
//	TestHang: true      the operation stays in progress until cancelled or deleted
package cfntest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Account and Region are where the double's stacks live.
const (
	Account = "000000000000"
	Region  = "us-east-1"
)

// AssumedAccessKeyID is the access key of every role session AssumeRole hands out, so a
// test can tell which calls were made with it.
const AssumedAccessKeyID = "ASIACFNTESTSESSION"

// Call is one request the double answered.
type Call struct {
	Service     string // "cloudformation" or "sts", from the request's SigV4 scope
	Region      string // from the SigV4 scope
	AccessKeyID string // that signed the request
	Action      string
	Params      url.Values
}

// List returns a query-protocol list parameter (Capabilities.member.N) in order.
func (c Call) List(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.Params[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// Server is the double. Its fields may be set before the first request.
type Server struct {
	URL string
	// PageSize is how many events and resources a page holds (default 100).
	PageSize int
	// OnCall, when set, is told of each call after it is answered (without locks held).
	OnCall func(Call)

	mu     sync.Mutex
	srv    *httptest.Server
	stacks []*stack // every stack ever created, deleted ones included
	calls  []Call
	seq    int
}

// New starts a double, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Calls returns the calls made so far, only those of the given actions if any are named.
func (s *Server) Calls(actions ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(actions) == 0 || slices.Contains(actions, c.Action) {
			out = append(out, c)
		}
	}
	return out
}

// Stack is a snapshot of one stack.
type Stack struct {
	ID, Name, Status, Reason, Template string
	Outputs                            map[string]string
	Resources                          map[string]string // logical id → physical id
}

// Stack returns the live stack with that name (not deleted), or the stack with that id.
func (s *Server) Stack(nameOrID string) (Stack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.find(nameOrID)
	if st == nil {
		return Stack{}, false
	}
	out := Stack{ID: st.id, Name: st.name, Status: st.status, Reason: st.reason, Template: st.template,
		Outputs: map[string]string{}, Resources: map[string]string{}}
	for _, o := range st.outputs {
		out.Outputs[o.key] = o.value
	}
	for _, r := range st.resources {
		out.Resources[r.logical] = r.physical
	}
	return out, true
}

// stack is one stack's state. An operation in flight is a queue of steps, one applied
// per DescribeStacks of the stack.
type stack struct {
	id, name       string
	status, reason string
	template       string
	resources      []resource
	outputs        []output
	events         []event // oldest first
	pending        []step
	created        time.Time
	updated        time.Time
}

type step struct {
	status, reason string
	events         []event
	apply          func() // changes the stack's resources and outputs when the step is reached
}

type resource struct {
	logical, physical, typ string
	fail                   string // TestFail
	hang                   bool   // TestHang
}

type output struct{ key, value string }

type event struct {
	id, logical, physical, typ, status, reason string
	at                                         time.Time
}

// ---- HTTP and the query protocol ----

type apiError struct {
	status      int
	code, msg   string
	senderFault bool
}

func validation(format string, args ...any) *apiError {
	return &apiError{status: 400, code: "ValidationError", msg: fmt.Sprintf(format, args...), senderFault: true}
}

var scope = regexp.MustCompile(`Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		http.Error(w, "the query protocol POSTs a form", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := Call{Action: r.PostForm.Get("Action"), Params: r.PostForm}
	if m := scope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		call.AccessKeyID, call.Region, call.Service = m[1], m[2], m[3]
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.seq++
	requestID := fmt.Sprintf("cfntest-%06d", s.seq)
	ns := "http://cloudformation.amazonaws.com/doc/2010-05-15/"
	var result any
	var aerr *apiError
	switch call.Action {
	case "AssumeRole":
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
		result, aerr = s.assumeRole(call.Params)
	case "CreateStack":
		result, aerr = s.createStack(call)
	case "UpdateStack":
		result, aerr = s.updateStack(call)
	case "DeleteStack":
		aerr = s.deleteStack(call.Params)
	case "CancelUpdateStack":
		aerr = s.cancelUpdateStack(call.Params)
	case "DescribeStacks":
		result, aerr = s.describeStacks(call.Params)
	case "DescribeStackEvents":
		result, aerr = s.describeStackEvents(call.Params)
	case "ListStackResources":
		result, aerr = s.listStackResources(call.Params)
	default:
		aerr = &apiError{status: 400, code: "InvalidAction", msg: fmt.Sprintf("Unknown action %q", call.Action), senderFault: true}
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	if aerr != nil {
		writeError(w, ns, requestID, aerr)
	} else {
		writeResult(w, ns, call.Action, requestID, result)
	}
	if s.OnCall != nil {
		s.OnCall(call)
	}
}

func writeResult(w http.ResponseWriter, ns, action, requestID string, result any) {
	w.WriteHeader(http.StatusOK)
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}}
	_ = enc.EncodeToken(start)
	if result != nil {
		_ = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(start.End())
	_ = enc.Flush()
}

func writeError(w http.ResponseWriter, ns, requestID string, e *apiError) {
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	body := struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errorBody
		RequestID string `xml:"RequestId"`
	}{Xmlns: ns, Error: errorBody{Type: "Receiver", Code: e.code, Message: e.msg}, RequestID: requestID}
	if e.senderFault {
		body.Error.Type = "Sender"
	}
	w.WriteHeader(e.status)
	_ = xml.NewEncoder(w).Encode(body)
}

// ---- STS ----

func (s *Server) assumeRole(p url.Values) (any, *apiError) {
	role, session := p.Get("RoleArn"), p.Get("RoleSessionName")
	if role == "" || session == "" {
		return nil, validation("RoleArn and RoleSessionName are required")
	}
	roleName := role[strings.LastIndex(role, "/")+1:]
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type user struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string
	}
	return struct {
		Credentials     credentials
		AssumedRoleUser user
	}{
		credentials{AssumedAccessKeyID, "cfntest-session-secret", "cfntest-session-token", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		user{"AROACFNTEST:" + session, "arn:aws:sts::" + Account + ":assumed-role/" + roleName + "/" + session},
	}, nil
}

// ---- stack operations ----

// find returns the live stack named nameOrID, or the stack whose id it is (deleted too).
func (s *Server) find(nameOrID string) *stack {
	for _, st := range s.stacks {
		if st.id == nameOrID || (st.name == nameOrID && st.status != "DELETE_COMPLETE") {
			return st
		}
	}
	return nil
}

func (s *Server) mustFind(nameOrID string) (*stack, *apiError) {
	if nameOrID == "" {
		return nil, validation("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	st := s.find(nameOrID)
	if st == nil {
		return nil, validation("Stack with id %s does not exist", nameOrID)
	}
	return st, nil
}

var stackName = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`)

func (s *Server) createStack(c Call) (any, *apiError) {
	name := c.Params.Get("StackName")
	if !stackName.MatchString(name) {
		return nil, validation("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
	}
	if s.find(name) != nil {
		return nil, &apiError{status: 400, code: "AlreadyExistsException", msg: fmt.Sprintf("Stack [%s] already exists", name), senderFault: true}
	}
	body := c.Params.Get("TemplateBody")
	tmpl, aerr := parseTemplate(body, c.List("Capabilities"))
	if aerr != nil {
		return nil, aerr
	}
	s.seq++
	now := time.Now().UTC()
	st := &stack{id: fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%08d-cf7e-11ee-8000-000000000000", Region, Account, name, s.seq),
		name: name, created: now, updated: now, template: body}
	s.stacks = append(s.stacks, st)
	s.begin(st, "CREATE_IN_PROGRESS", "User Initiated")

	resources := s.physicalIDs(st, tmpl.resources)
	started := step{status: "CREATE_IN_PROGRESS"}
	for _, r := range resources {
		started.events = append(started.events, event{logical: r.logical, typ: r.typ, status: "CREATE_IN_PROGRESS"})
	}
	st.pending = append(st.pending, started)
	if hangs(resources) {
		return struct{ StackId string }{st.id}, nil
	}
	if failed := failing(resources); failed != nil {
		fail := step{status: "ROLLBACK_IN_PROGRESS", reason: fmt.Sprintf("The following resource(s) failed to create: [%s]. Rollback requested by user.", failed.logical)}
		fail.events = append(fail.events, event{logical: failed.logical, typ: failed.typ, status: "CREATE_FAILED", reason: failed.fail})
		rolled := step{status: "ROLLBACK_COMPLETE"}
		for _, r := range resources {
			if r.logical != failed.logical {
				fail.events = append(fail.events, event{logical: r.logical, typ: r.typ, status: "CREATE_FAILED", reason: "Resource creation cancelled"})
			}
			rolled.events = append(rolled.events, event{logical: r.logical, typ: r.typ, status: "DELETE_COMPLETE"})
		}
		st.pending = append(st.pending, fail, rolled)
		return struct{ StackId string }{st.id}, nil
	}
	done := step{status: "CREATE_COMPLETE", apply: func() { st.resources, st.outputs = resources, tmpl.outputsFor(resources) }}
	for _, r := range resources {
		done.events = append(done.events, event{logical: r.logical, physical: r.physical, typ: r.typ, status: "CREATE_COMPLETE"})
	}
	st.pending = append(st.pending, done)
	return struct{ StackId string }{st.id}, nil
}

func (s *Server) updateStack(c Call) (any, *apiError) {
	st, aerr := s.mustFind(c.Params.Get("StackName"))
	if aerr != nil {
		return nil, aerr
	}
	switch st.status {
	case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE":
	default:
		return nil, validation("Stack:%s is in %s state and can not be updated.", st.id, st.status)
	}
	body := c.Params.Get("TemplateBody")
	tmpl, aerr := parseTemplate(body, c.List("Capabilities"))
	if aerr != nil {
		return nil, aerr
	}
	if body == st.template {
		return nil, validation("No updates are to be performed.")
	}
	s.begin(st, "UPDATE_IN_PROGRESS", "User Initiated")
	old := map[string]resource{}
	for _, r := range st.resources {
		old[r.logical] = r
	}
	resources := s.physicalIDs(st, tmpl.resources)
	verb := func(r resource) string {
		if _, ok := old[r.logical]; ok {
			return "UPDATE"
		}
		return "CREATE"
	}
	started := step{status: "UPDATE_IN_PROGRESS"}
	for _, r := range resources {
		started.events = append(started.events, event{logical: r.logical, physical: old[r.logical].physical, typ: r.typ, status: verb(r) + "_IN_PROGRESS"})
	}
	st.pending = append(st.pending, started)
	if hangs(resources) {
		return struct{ StackId string }{st.id}, nil
	}
	if failed := failing(resources); failed != nil {
		st.pending = append(st.pending,
			step{status: "UPDATE_ROLLBACK_IN_PROGRESS", reason: fmt.Sprintf("The following resource(s) failed to update: [%s]. ", failed.logical),
				events: []event{{logical: failed.logical, typ: failed.typ, status: verb(*failed) + "_FAILED", reason: failed.fail}}},
			step{status: "UPDATE_ROLLBACK_COMPLETE"})
		return struct{ StackId string }{st.id}, nil
	}
	done := step{status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", apply: func() {
		st.resources, st.outputs, st.template = resources, tmpl.outputsFor(resources), body
	}}
	cleaned := step{status: "UPDATE_COMPLETE"}
	for _, r := range resources {
		done.events = append(done.events, event{logical: r.logical, physical: r.physical, typ: r.typ, status: verb(r) + "_COMPLETE"})
		delete(old, r.logical)
	}
	for _, r := range old {
		cleaned.events = append(cleaned.events, event{logical: r.logical, physical: r.physical, typ: r.typ, status: "DELETE_COMPLETE"})
	}
	st.pending = append(st.pending, done, cleaned)
	return struct{ StackId string }{st.id}, nil
}

// deleteStack starts deleting a stack, whatever it is doing (a create in progress is
// abandoned); like CloudFormation, deleting a stack that does not exist succeeds.
func (s *Server) deleteStack(p url.Values) *apiError {
	st := s.find(p.Get("StackName"))
	if st == nil || st.status == "DELETE_COMPLETE" || st.status == "DELETE_IN_PROGRESS" {
		return nil
	}
	s.begin(st, "DELETE_IN_PROGRESS", "User Initiated")
	done := step{status: "DELETE_COMPLETE", apply: func() { st.resources, st.outputs = nil, nil }}
	for _, r := range st.resources {
		done.events = append(done.events, event{logical: r.logical, physical: r.physical, typ: r.typ, status: "DELETE_COMPLETE"})
	}
	st.pending = append(st.pending, step{status: "DELETE_IN_PROGRESS"}, done)
	return nil
}

func (s *Server) cancelUpdateStack(p url.Values) *apiError {
	st, aerr := s.mustFind(p.Get("StackName"))
	if aerr != nil {
		return aerr
	}
	if st.status != "UPDATE_IN_PROGRESS" {
		return validation("CancelUpdateStack cannot be called from current stack status")
	}
	s.begin(st, "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update cancelled")
	st.pending = append(st.pending, step{status: "UPDATE_ROLLBACK_COMPLETE"})
	return nil
}

// begin starts an operation: the stack takes its status at once, as CloudFormation's does.
func (s *Server) begin(st *stack, status, reason string) {
	st.pending = nil
	st.status, st.reason, st.updated = status, reason, time.Now().UTC()
	s.addEvent(st, event{logical: st.name, physical: st.id, typ: "AWS::CloudFormation::Stack", status: status, reason: reason})
}

// advance applies the stack's next step.
func (s *Server) advance(st *stack) {
	if len(st.pending) == 0 {
		return
	}
	next := st.pending[0]
	st.pending = st.pending[1:]
	for _, ev := range next.events {
		s.addEvent(st, ev)
	}
	if next.apply != nil {
		next.apply()
	}
	if next.status != st.status {
		st.status, st.reason = next.status, next.reason
		s.addEvent(st, event{logical: st.name, physical: st.id, typ: "AWS::CloudFormation::Stack", status: st.status, reason: st.reason})
	}
}

func (s *Server) addEvent(st *stack, ev event) {
	s.seq++
	ev.id = fmt.Sprintf("%s-%s-%06d", ev.logical, ev.status, s.seq)
	ev.at = time.Now().UTC()
	st.events = append(st.events, ev)
}

func (s *Server) physicalIDs(st *stack, rs []resource) []resource {
	old := map[string]string{}
	for _, r := range st.resources {
		old[r.logical] = r.physical
	}
	out := slices.Clone(rs)
	for i := range out {
		if out[i].physical = old[out[i].logical]; out[i].physical == "" {
			s.seq++
			out[i].physical = fmt.Sprintf("%s-%s-%06d", st.name, out[i].logical, s.seq)
		}
	}
	return out
}

func hangs(rs []resource) bool {
	return slices.ContainsFunc(rs, func(r resource) bool { return r.hang })
}

func failing(rs []resource) *resource {
	for i := range rs {
		if rs[i].fail != "" {
			return &rs[i]
		}
	}
	return nil
}

// ---- reads ----

type stackXML struct {
	StackID           string   `xml:"StackId"`
	StackName         string   `xml:"StackName"`
	CreationTime      string   `xml:"CreationTime"`
	LastUpdatedTime   string   `xml:"LastUpdatedTime,omitempty"`
	DeletionTime      string   `xml:"DeletionTime,omitempty"`
	StackStatus       string   `xml:"StackStatus"`
	StackStatusReason string   `xml:"StackStatusReason,omitempty"`
	Capabilities      []string `xml:"Capabilities>member"`
	Outputs           []struct {
		OutputKey   string
		OutputValue string
	} `xml:"Outputs>member"`
}

// describeStacks moves each stack it describes one step along.
func (s *Server) describeStacks(p url.Values) (any, *apiError) {
	var list []*stack
	if name := p.Get("StackName"); name != "" {
		st, aerr := s.mustFind(name)
		if aerr != nil {
			return nil, aerr
		}
		list = append(list, st)
	} else {
		for _, st := range s.stacks {
			if st.status != "DELETE_COMPLETE" {
				list = append(list, st)
			}
		}
	}
	var out struct {
		Stacks []stackXML `xml:"Stacks>member"`
	}
	for _, st := range list {
		s.advance(st)
		x := stackXML{StackID: st.id, StackName: st.name, CreationTime: stamp(st.created), StackStatus: st.status, StackStatusReason: st.reason}
		if st.updated.After(st.created) {
			x.LastUpdatedTime = stamp(st.updated)
		}
		if st.status == "DELETE_COMPLETE" {
			x.DeletionTime = stamp(st.updated)
		}
		for _, o := range st.outputs {
			x.Outputs = append(x.Outputs, struct{ OutputKey, OutputValue string }{o.key, o.value})
		}
		out.Stacks = append(out.Stacks, x)
	}
	return out, nil
}

func (s *Server) describeStackEvents(p url.Values) (any, *apiError) {
	st, aerr := s.mustFind(p.Get("StackName"))
	if aerr != nil {
		return nil, aerr
	}
	type eventXML struct {
		StackID              string `xml:"StackId"`
		EventID              string `xml:"EventId"`
		StackName            string
		LogicalResourceID    string `xml:"LogicalResourceId"`
		PhysicalResourceID   string `xml:"PhysicalResourceId,omitempty"`
		ResourceType         string
		Timestamp            string
		ResourceStatus       string
		ResourceStatusReason string `xml:",omitempty"`
	}
	newestFirst := slices.Clone(st.events)
	slices.Reverse(newestFirst)
	page, next, aerr := s.page(len(newestFirst), p.Get("NextToken"))
	if aerr != nil {
		return nil, aerr
	}
	var out struct {
		StackEvents []eventXML `xml:"StackEvents>member"`
		NextToken   string     `xml:",omitempty"`
	}
	out.NextToken = next
	for _, ev := range newestFirst[page[0]:page[1]] {
		out.StackEvents = append(out.StackEvents, eventXML{st.id, ev.id, st.name, ev.logical, ev.physical, ev.typ, stamp(ev.at), ev.status, ev.reason})
	}
	return out, nil
}

func (s *Server) listStackResources(p url.Values) (any, *apiError) {
	st, aerr := s.mustFind(p.Get("StackName"))
	if aerr != nil {
		return nil, aerr
	}
	type summaryXML struct {
		LogicalResourceID    string `xml:"LogicalResourceId"`
		PhysicalResourceID   string `xml:"PhysicalResourceId"`
		ResourceType         string
		LastUpdatedTimestamp string
		ResourceStatus       string
	}
	page, next, aerr := s.page(len(st.resources), p.Get("NextToken"))
	if aerr != nil {
		return nil, aerr
	}
	var out struct {
		StackResourceSummaries []summaryXML `xml:"StackResourceSummaries>member"`
		NextToken              string       `xml:",omitempty"`
	}
	out.NextToken = next
	for _, r := range st.resources[page[0]:page[1]] {
		out.StackResourceSummaries = append(out.StackResourceSummaries, summaryXML{r.logical, r.physical, r.typ, stamp(st.updated), "CREATE_COMPLETE"})
	}
	return out, nil
}

// page is the [from, to) slice of n items a NextToken asks for, and the next token.
func (s *Server) page(n int, token string) ([2]int, string, *apiError) {
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	from := 0
	if token != "" {
		var err error
		if from, err = strconv.Atoi(token); err != nil || from < 0 || from > n {
			return [2]int{}, "", validation("Invalid NextToken")
		}
	}
	to := min(from+size, n)
	next := ""
	if to < n {
		next = strconv.Itoa(to)
	}
	return [2]int{from, to}, next, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ---- templates ----

type template struct {
	resources []resource
	outputs   []struct {
		key string
		ref string // the resource a Ref names, or "" for a literal
		lit string
	}
}

// parseTemplate reads what the double needs of a template and checks, as CloudFormation
// does, that IAM resources and transforms were acknowledged with capabilities.
func parseTemplate(body string, capabilities []string) (*template, *apiError) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		return nil, validation("Template format error: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, validation("Template format error: not a YAML or JSON object")
	}
	top := doc.Content[0]
	t := &template{}
	resources := lookup(top, "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode || len(resources.Content) == 0 {
		return nil, validation("Template format error: At least one Resources member must be defined.")
	}
	needIAM := false
	for i := 0; i+1 < len(resources.Content); i += 2 {
		r := resource{logical: resources.Content[i].Value}
		if typ := lookup(resources.Content[i+1], "Type"); typ != nil {
			r.typ = typ.Value
		}
		if r.typ == "" {
			return nil, validation("Template format error: [/Resources/%s] Every Resources object must contain a Type member.", r.logical)
		}
		needIAM = needIAM || strings.HasPrefix(r.typ, "AWS::IAM::")
		if props := lookup(resources.Content[i+1], "Properties"); props != nil {
			if v := lookup(props, "TestFail"); v != nil {
				r.fail = v.Value
			}
			if v := lookup(props, "TestHang"); v != nil {
				r.hang = v.Value == "true"
			}
		}
		t.resources = append(t.resources, r)
	}
	if needIAM && !slices.Contains(capabilities, "CAPABILITY_IAM") && !slices.Contains(capabilities, "CAPABILITY_NAMED_IAM") {
		return nil, &apiError{status: 400, code: "InsufficientCapabilitiesException", msg: "Requires capabilities : [CAPABILITY_IAM]", senderFault: true}
	}
	if lookup(top, "Transform") != nil && !slices.Contains(capabilities, "CAPABILITY_AUTO_EXPAND") {
		return nil, &apiError{status: 400, code: "InsufficientCapabilitiesException", msg: "Requires capabilities : [CAPABILITY_AUTO_EXPAND]", senderFault: true}
	}
	if outputs := lookup(top, "Outputs"); outputs != nil && outputs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(outputs.Content); i += 2 {
			o := struct{ key, ref, lit string }{key: outputs.Content[i].Value}
			v := lookup(outputs.Content[i+1], "Value")
			switch {
			case v == nil:
				return nil, validation("Template format error: Every Outputs member must contain a Value object")
			case v.Kind == yaml.ScalarNode && v.Tag == "!Ref":
				o.ref = v.Value
			case v.Kind == yaml.MappingNode && lookup(v, "Ref") != nil:
				o.ref = lookup(v, "Ref").Value
			case v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Tag, "!!"):
				o.lit = v.Value
			default:
				o.lit = "unresolved"
			}
			t.outputs = append(t.outputs, o)
		}
	}
	return t, nil
}

func (t *template) outputsFor(resources []resource) []output {
	var out []output
	for _, o := range t.outputs {
		v := o.lit
		if o.ref != "" {
			for _, r := range resources {
				if r.logical == o.ref {
					v = r.physical
				}
			}
		}
		out = append(out, output{o.key, v})
	}
	return out
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
