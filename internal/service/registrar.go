package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openproton/openproton/internal/api/types"
	"github.com/openproton/openproton/internal/bucket"
	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/store"
)

// Registration turns a REGISTRATION_IN_PROGRESS version into DRAFT or REGISTRATION_FAILED.
// The version row itself is the durable record of pending work: every replica's registrar
// scans for such rows (so a version created before a crash still registers after restart)
// and is woken at once when this replica creates one. Two registrars racing on one version
// both compute the same result; optimistic concurrency lets one write it.

// maxBundleBytes is Proton's bundle quota; one byte more is read to detect larger objects.
const maxBundleBytes = 5 << 20

// registrarInterval is how often pending versions are looked for without a wake-up.
const registrarInterval = 2 * time.Second

func (s *Service) kickRegistrar() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// RunRegistrar registers pending template versions until ctx ends.
func (s *Service) RunRegistrar(ctx context.Context) {
	t := time.NewTicker(registrarInterval)
	defer t.Stop()
	for {
		s.registerPending(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *Service) registerPending(ctx context.Context) {
	pending, err := s.store.TemplateVersionsRegistering(ctx, 20)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("list pending template versions", "err", err)
		}
		return
	}
	for _, v := range pending {
		if ctx.Err() != nil {
			return
		}
		// A conflict or a missing row means another replica registered it or it was deleted.
		if err := s.register(ctx, v); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			// Not the bundle's fault (storage or S3 unavailable): try again on the next scan.
			s.log.Warn("template version registration will be retried", "template", v.TemplateName,
				"version", fmt.Sprintf("%d.%d", v.Major, v.Minor), "err", err)
		}
	}
}

// register checks one version's bundle and records the outcome.
func (s *Service) register(ctx context.Context, v *store.TemplateVersion) error {
	b, problem, err := s.checkBundle(ctx, v)
	if err != nil {
		return err
	}
	v.LastModifiedAt = s.now().UTC()
	if problem != "" {
		v.Status, v.StatusMessage = string(types.TemplateVersionStatusRegistrationFailed), problem
	} else {
		v.Status, v.StatusMessage = string(types.TemplateVersionStatusDraft), ""
		v.Schema, v.Bundle, v.BundleDigest = b.text, b.raw, b.loaded.Digest
	}
	return s.store.TemplateVersionUpdate(ctx, v)
}

type loadedBundle struct {
	raw    []byte
	text   string
	loaded *bundle.Bundle
}

// checkBundle fetches and checks a version's bundle. A problem with the bundle itself is
// returned as a message for the user; err is for failures worth retrying.
func (s *Service) checkBundle(ctx context.Context, v *store.TemplateVersion) (*loadedBundle, string, error) {
	var raw []byte
	var err error
	if v.SourceBucket == "" {
		// Template sync stored the bundle with the version.
		raw, err = s.store.TemplateVersionBundle(ctx, v.VersionKey)
	} else {
		raw, err = s.bundles.Get(ctx, v.SourceBucket, v.SourceKey, maxBundleBytes)
	}
	switch {
	case errors.Is(err, bucket.ErrNotFound):
		return nil, fmt.Sprintf("the template bundle s3://%s/%s does not exist", v.SourceBucket, v.SourceKey), nil
	case errors.Is(err, bucket.ErrTooLarge):
		return nil, fmt.Sprintf("the template bundle s3://%s/%s is larger than the 5 MB limit", v.SourceBucket, v.SourceKey), nil
	case err != nil:
		return nil, "", err
	}
	kind, opts := bundle.Environment, bundle.Options{}
	if v.TemplateType == store.ServiceTemplateType {
		kind = bundle.Service
	}
	var pipelineManaged bool
	if v.TemplateType == store.EnvironmentTemplateType {
		t, err := s.store.EnvironmentTemplateGet(ctx, v.AccountID, v.TemplateName)
		if err != nil {
			return nil, "", err
		}
		opts.CustomerManaged = t.Provisioning == string(types.ProvisioningCustomerManaged)
	} else {
		t, err := s.store.ServiceTemplateGet(ctx, v.AccountID, v.TemplateName)
		if err != nil {
			return nil, "", err
		}
		pipelineManaged = t.PipelineProvisioning != string(types.ProvisioningCustomerManaged)
	}
	b, err := bundle.Load(raw, kind, opts)
	var bad *bundle.Error
	if errors.As(err, &bad) {
		return nil, bad.Message, nil
	}
	if err != nil {
		return nil, "", err
	}
	if kind == bundle.Service {
		switch {
		case pipelineManaged && b.Pipeline == nil:
			return nil, "the service template has a pipeline (pipelineProvisioning is not CUSTOMER_MANAGED) but the bundle has no pipeline_infrastructure/ folder", nil
		case !pipelineManaged && b.Pipeline != nil:
			return nil, "the service template was created without a pipeline (pipelineProvisioning CUSTOMER_MANAGED) but the bundle has a pipeline_infrastructure/ folder", nil
		}
	}
	if v.Minor > 0 {
		prev, err := s.previousMinorVersion(ctx, v)
		if err != nil {
			return nil, "", err
		}
		if prev != nil {
			// The previous minor registered with the same template settings, so it loads
			// with the same options.
			raw, err := s.store.TemplateVersionBundle(ctx, prev.VersionKey)
			if err != nil {
				return nil, "", err
			}
			old, err := bundle.Load(raw, kind, opts)
			var stale *bundle.Error
			switch {
			case errors.As(err, &stale):
				// The previous minor was accepted under older bundle rules; failing the new
				// version for it (or retrying forever) would help nobody, so skip the check.
				slog.WarnContext(ctx, "previous minor no longer loads; compatibility not checked",
					"template", prev.TemplateName, "version", fmt.Sprintf("%d.%d", prev.Major, prev.Minor), "reason", stale.Message)
			case err != nil:
				return nil, "", fmt.Errorf("reload registered bundle %s:%d.%d: %w", prev.TemplateName, prev.Major, prev.Minor, err)
			default:
				if err := bundle.CheckCompatible(old.Schema, b.Schema); err != nil {
					var bad *bundle.Error
					if !errors.As(err, &bad) {
						return nil, "", err
					}
					return nil, fmt.Sprintf("minor version %d.%d is not backward compatible with %d.%d: %s; create a new major version for this change",
						v.Major, v.Minor, prev.Major, prev.Minor, bad.Message), nil
				}
			}
		}
	}
	return &loadedBundle{raw: raw, text: b.SchemaText, loaded: b}, "", nil
}

// previousMinorVersion is the highest registered minor below v in its major, or nil.
func (s *Service) previousMinorVersion(ctx context.Context, v *store.TemplateVersion) (*store.TemplateVersion, error) {
	var best *store.TemplateVersion
	p := store.Page{Limit: 100}
	for {
		list, next, err := s.store.TemplateVersionList(ctx, v.AccountID, v.TemplateType, v.TemplateName, v.Major, p)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			registered := c.Status == string(types.TemplateVersionStatusDraft) || c.Status == string(types.TemplateVersionStatusPublished)
			if c.Minor < v.Minor && registered {
				best = c
			}
		}
		if next == "" {
			return best, nil
		}
		p.After = next
	}
}
