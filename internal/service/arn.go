package service

import (
	"strings"
)

// arn formats a Proton ARN the way AWS does, e.g.
// arn:aws:proton:us-east-1:000000000000:environment-template/vpc.
func (s *Service) arn(accountID, resource string) string {
	return "arn:aws:proton:" + s.region + ":" + accountID + ":" + resource
}

// parsedARN is a Proton ARN split into the parts openproton routes on.
type parsedARN struct {
	Region, AccountID string
	Type              string // first path segment: environment-template, service, ...
	Path              string // the rest, e.g. "vpc" or "api/service-instance/east"
	Raw               string // the whole ARN
}

// parseARN splits a Proton ARN; ok is false for ARNs of other services or shapes.
func parseARN(arn string) (parsedARN, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "proton" {
		return parsedARN{}, false
	}
	typ, path, ok := strings.Cut(parts[5], "/")
	if !ok || path == "" {
		return parsedARN{}, false
	}
	return parsedARN{Region: parts[3], AccountID: parts[4], Type: typ, Path: path, Raw: arn}, true
}
